import Foundation

/// An element type of a one-dimensional PostgreSQL array (`text[]`, `int8[]`, `uuid[]`, …).
///
/// `[Element]` is then `PostgresEncodable`, sent as an array literal such as `{"a","b c",NULL}`.
/// `UInt8` is the exception: `[UInt8]` is `bytea`.
public protocol PostgresArrayEncodable: PostgresEncodable {
    static var postgresArrayDataType: PostgresDataType { get }
    /// Writes the whole array. The default writes an array literal with every element quoted.
    static func encodeArray(_ elements: [Self], into buffer: inout PostgresEncodingBuffer)
}

/// An element type that can be read from a one-dimensional PostgreSQL array; `[Element]` is then decodable.
public protocol PostgresArrayDecodable: PostgresDecodable {
    /// Reads the whole array. The default parses an array literal and decodes each element.
    static func decodeArray(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> [Self]
}

extension PostgresArrayEncodable {
    public static func encodeArray(_ elements: [Self], into buffer: inout PostgresEncodingBuffer) {
        PostgresArrayLiteral.write(elements, into: &buffer)
    }
}

extension PostgresArrayDecodable {
    public static func decodeArray(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> [Self] {
        try PostgresArrayLiteral.parse(bytes, type: type, as: Self.self)
    }
}

extension Array: PostgresEncodable where Element: PostgresArrayEncodable {
    public static var postgresDataType: PostgresDataType { Element.postgresArrayDataType }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        Element.encodeArray(self, into: &buffer)
    }
}

extension Array: PostgresDecodable where Element: PostgresArrayDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> [Element] {
        try Element.decodeArray(from: bytes, type: type)
    }
}

extension String: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .textArray }
}

extension Substring: PostgresArrayEncodable {
    public static var postgresArrayDataType: PostgresDataType { .textArray }
}

extension Int: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .int8Array }
}

extension Int64: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .int8Array }
}

extension Int32: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .int4Array }
}

extension Int16: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .int2Array }
}

extension Bool: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .boolArray }
}

extension Double: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .float8Array }
}

extension Float: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .float4Array }
}

extension Decimal: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .numericArray }
}

extension UUID: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .uuidArray }
}

extension Date: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .timestamptzArray }
}

extension Optional: PostgresArrayEncodable where Wrapped: PostgresArrayEncodable {
    public static var postgresArrayDataType: PostgresDataType { Wrapped.postgresArrayDataType }
}

extension Optional: PostgresArrayDecodable where Wrapped: PostgresArrayDecodable {}

/// `[UInt8]` is `bytea`, not `int2[]`.
extension UInt8: PostgresArrayEncodable, PostgresArrayDecodable {
    public static var postgresArrayDataType: PostgresDataType { .bytea }

    public static func encodeArray(_ elements: [UInt8], into buffer: inout PostgresEncodingBuffer) {
        elements.withUnsafeBytes { PostgresBytea.writeHex($0, into: &buffer) }
    }

    public static func decodeArray(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> [UInt8] {
        try [UInt8].decodeBytea(bytes, type: type)
    }
}

/// PostgreSQL's array literal text format (https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO).
enum PostgresArrayLiteral {
    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")

    static func write<Element: PostgresEncodable>(_ elements: [Element], into buffer: inout PostgresEncodingBuffer) {
        buffer.write(byte: UInt8(ascii: "{"))
        for (position, element) in elements.enumerated() {
            if position > 0 { buffer.write(byte: UInt8(ascii: ",")) }
            let mark = buffer.bytes.count
            buffer.write(byte: quote)
            let start = buffer.bytes.count
            element.encode(into: &buffer)
            if buffer.isNull {
                buffer.isNull = false
                buffer.bytes.removeSubrange(mark...)
                buffer.write("NULL")
                continue
            }
            // Quoted elements need `"` and `\` escaped; everything else (commas, braces, spaces, unicode) is literal.
            if buffer.bytes[start...].contains(where: { $0 == quote || $0 == backslash }) {
                let raw = Array(buffer.bytes[start...])
                buffer.bytes.removeSubrange(start...)
                for byte in raw {
                    if byte == quote || byte == backslash { buffer.bytes.append(backslash) }
                    buffer.bytes.append(byte)
                }
            }
            buffer.write(byte: quote)
        }
        buffer.write(byte: UInt8(ascii: "}"))
    }

    static func parse<Element: PostgresDecodable>(
        _ bytes: UnsafeRawBufferPointer, type: PostgresDataType, as _: Element.Type
    ) throws -> [Element] {
        guard let elementType = type.arrayElementType else { throw PostgresDecodingFailure.unexpectedType(type) }
        let count = bytes.count
        guard count >= 2, bytes[0] == UInt8(ascii: "{") else {
            if count > 0, bytes[0] == UInt8(ascii: "[") {
                throw PostgresDecodingFailure("arrays with explicit bounds are not supported")
            }
            throw PostgresDecodingFailure("the text is not an array literal")
        }
        var result: [Element] = []
        var scratch: [UInt8] = []
        var index = 1
        if bytes[index] == UInt8(ascii: "}") {
            guard index + 1 == count else { throw PostgresDecodingFailure("the array literal has trailing text") }
            return result
        }
        while true {
            guard index < count else { throw PostgresDecodingFailure("the array literal is truncated") }
            scratch.removeAll(keepingCapacity: true)
            var isNull = false
            if bytes[index] == quote {
                index += 1
                while true {
                    guard index < count else { throw PostgresDecodingFailure("the array literal is truncated") }
                    let byte = bytes[index]
                    if byte == backslash {
                        guard index + 1 < count else { throw PostgresDecodingFailure("the array literal is truncated") }
                        scratch.append(bytes[index + 1])
                        index += 2
                    } else if byte == quote {
                        index += 1
                        break
                    } else {
                        scratch.append(byte)
                        index += 1
                    }
                }
            } else if bytes[index] == UInt8(ascii: "{") {
                throw PostgresDecodingFailure("multidimensional arrays are not supported")
            } else {
                var sawBackslash = false
                while index < count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}") {
                    if bytes[index] == backslash, index + 1 < count {
                        sawBackslash = true
                        scratch.append(bytes[index + 1])
                        index += 2
                    } else {
                        scratch.append(bytes[index])
                        index += 1
                    }
                }
                while let last = scratch.last, last == UInt8(ascii: " ") { scratch.removeLast() }
                isNull = !sawBackslash && scratch.count == 4
                    && scratch.map({ $0 | 0x20 }) == Array("null".utf8)
            }
            if isNull {
                result.append(try Element.decodeNull())
            } else {
                let element = try scratch.withUnsafeBytes { try Element.decode(from: $0, type: elementType) }
                result.append(element)
            }
            guard index < count else { throw PostgresDecodingFailure("the array literal is truncated") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                while index < count, bytes[index] == UInt8(ascii: " ") { index += 1 }
            } else if bytes[index] == UInt8(ascii: "}") {
                guard index + 1 == count else { throw PostgresDecodingFailure("the array literal has trailing text") }
                return result
            } else {
                throw PostgresDecodingFailure("the array literal is malformed")
            }
        }
    }
}
