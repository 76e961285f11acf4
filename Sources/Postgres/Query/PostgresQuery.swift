/// A SQL statement with its bound parameters, built by string interpolation.
///
/// Interpolation can only add a bound parameter, so SQL injection is impossible by construction:
///
/// ```swift
/// let query: PostgresQuery = "SELECT id FROM contacts WHERE phone = \(phone) AND list_id = \(listID)"
/// // sql: "SELECT id FROM contacts WHERE phone = $1 AND list_id = $2", two bindings
/// ```
///
/// Raw SQL needs the loudly named `\(unsafeSQL: "ORDER BY created_at")` (for static fragments written by
/// programmers, never user input). Another `PostgresQuery` interpolates as a fragment: its placeholders are
/// renumbered, so conditions can be composed safely.
///
/// `description` and `debugDescription` print the SQL with every value redacted as `****`.
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible,
    CustomDebugStringConvertible
{
    public var sql: String
    public var bindings: PostgresBindings

    /// A statement from text the caller vouches for; `bindings` fill its `$1…$n`.
    public init(unsafeSQL: String, bindings: PostgresBindings = .init()) {
        self.sql = unsafeSQL
        self.bindings = bindings
    }

    public init(stringLiteral value: String) {
        self.sql = value
        self.bindings = PostgresBindings()
    }

    public init(stringInterpolation: StringInterpolation) {
        self.sql = stringInterpolation.sql
        self.bindings = stringInterpolation.bindings
    }

    public var description: String {
        bindings.count == 0 ? sql : "\(sql) \(bindings)"
    }

    public var debugDescription: String {
        "PostgresQuery(sql: \(sql), bindings: \(bindings))"
    }

    public struct StringInterpolation: StringInterpolationProtocol, Sendable {
        public typealias StringLiteralType = String

        @usableFromInline var sql: String
        @usableFromInline var bindings: PostgresBindings

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            bindings = PostgresBindings()
        }

        public mutating func appendLiteral(_ literal: String) {
            sql.append(literal)
        }

        /// Binds `value` and writes its placeholder (`$n`).
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            bindings.append(value)
            sql.append("$")
            sql.append(String(bindings.count))
        }

        /// Binds an optional value (`nil` is NULL) and writes its placeholder. (Spelled out so the compiler does not
        /// warn about interpolating an optional.)
        public mutating func appendInterpolation<Value: PostgresEncodable>(_ value: Value?) {
            bindings.append(value)
            sql.append("$")
            sql.append(String(bindings.count))
        }

        /// Splices SQL text as is. Only for static fragments written by programmers (identifiers chosen from a
        /// fixed set, `ORDER BY` clauses); never for anything derived from input.
        public mutating func appendInterpolation(unsafeSQL fragment: String) {
            sql.append(fragment)
        }

        /// Embeds another query: its SQL with placeholders renumbered after ours, and its bindings appended.
        public mutating func appendInterpolation(_ fragment: PostgresQuery) {
            let offset = bindings.count
            sql.append(offset == 0 ? fragment.sql : PostgresSQLScanner.renumberPlaceholders(in: fragment.sql, by: offset))
            bindings.append(contentsOf: fragment.bindings)
        }
    }
}

/// A small lexer that knows where placeholders can be: outside string literals, quoted identifiers,
/// dollar-quoted strings and comments.
enum PostgresSQLScanner {
    static func renumberPlaceholders(in sql: String, by offset: Int) -> String {
        let bytes = Array(sql.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 8)
        var index = 0
        let count = bytes.count

        func isIdentifierByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte == UInt8(ascii: "$") || byte >= 0x80
                || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
        func copy(until end: Int) {
            output.append(contentsOf: bytes[index..<min(end, count)])
            index = min(end, count)
        }
        func find(_ needle: [UInt8], from start: Int) -> Int? {
            guard needle.count <= count else { return nil }
            var position = start
            while position + needle.count <= count {
                if bytes[position..<position + needle.count].elementsEqual(needle) { return position }
                position += 1
            }
            return nil
        }

        while index < count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                // 'string' or "identifier"; a doubled quote is an escaped quote. (E'…\'…' is handled too:
                // a backslash before the quote keeps us inside the literal.)
                let isEscapeString = byte == UInt8(ascii: "'") && index > 0
                    && (bytes[index - 1] | 0x20) == UInt8(ascii: "e")
                    && (index < 2 || !isIdentifierByte(bytes[index - 2]))
                var end = index + 1
                while end < count {
                    if isEscapeString, bytes[end] == UInt8(ascii: "\\") {
                        end += 2
                        continue
                    }
                    if bytes[end] == byte {
                        if end + 1 < count, bytes[end + 1] == byte {
                            end += 2
                            continue
                        }
                        break
                    }
                    end += 1
                }
                copy(until: end + 1)
            case UInt8(ascii: "-") where index + 1 < count && bytes[index + 1] == UInt8(ascii: "-"):
                let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? count
                copy(until: end)
            case UInt8(ascii: "/") where index + 1 < count && bytes[index + 1] == UInt8(ascii: "*"):
                // Block comments nest in PostgreSQL.
                var depth = 0
                var end = index
                while end < count {
                    if end + 1 < count, bytes[end] == UInt8(ascii: "/"), bytes[end + 1] == UInt8(ascii: "*") {
                        depth += 1
                        end += 2
                    } else if end + 1 < count, bytes[end] == UInt8(ascii: "*"), bytes[end + 1] == UInt8(ascii: "/") {
                        depth -= 1
                        end += 2
                        if depth == 0 { break }
                    } else {
                        end += 1
                    }
                }
                copy(until: end)
            case UInt8(ascii: "$"):
                if index > 0, isIdentifierByte(bytes[index - 1]) {
                    // Part of an identifier such as `a$1`.
                    copy(until: index + 1)
                } else if index + 1 < count, isDigit(bytes[index + 1]) {
                    var end = index + 1
                    var number = 0
                    while end < count, isDigit(bytes[end]) {
                        number = number * 10 + Int(bytes[end] - UInt8(ascii: "0"))
                        end += 1
                    }
                    output.append(UInt8(ascii: "$"))
                    output.append(contentsOf: String(number + offset).utf8)
                    index = end
                } else {
                    // Dollar quoting: $tag$ … $tag$ (tag may be empty).
                    var end = index + 1
                    while end < count, bytes[end] != UInt8(ascii: "$"), isIdentifierByte(bytes[end]) { end += 1 }
                    if end < count, bytes[end] == UInt8(ascii: "$") {
                        let tag = Array(bytes[index...end])
                        let close = find(tag, from: end + 1).map { $0 + tag.count } ?? count
                        copy(until: close)
                    } else {
                        copy(until: index + 1)
                    }
                }
            default:
                if isIdentifierByte(byte) {
                    // Copy a whole word so a `$` inside it is not mistaken for a placeholder.
                    var end = index + 1
                    while end < count, isIdentifierByte(bytes[end]), bytes[end] != UInt8(ascii: "$") { end += 1 }
                    copy(until: end)
                } else {
                    copy(until: index + 1)
                }
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

extension PostgresQuery {
    /// The fragments one after another with `separator` (static SQL such as `" AND "`) between
    /// them, placeholders renumbered; the empty query for no fragments.
    public static func joined(_ parts: [PostgresQuery], separator: StaticString) -> PostgresQuery {
        var result: PostgresQuery = ""
        for (index, part) in parts.enumerated() {
            result = index == 0 ? part : "\(result)\(unsafeSQL: separator.description)\(part)"
        }
        return result
    }
}
