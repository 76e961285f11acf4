import Foundation

/// A Swift value that can be sent as a bound parameter, in PostgreSQL's text format.
///
/// Conformers write the value's text representation (what `psql` would print) into the buffer and name the
/// PostgreSQL type, so the server never has to guess. `Optional.none` becomes SQL NULL.
///
/// ```swift
/// extension MessageStatus: PostgresEncodable {}   // a RawRepresentable enum with String raw values
/// ```
public protocol PostgresEncodable: Sendable {
    /// The type sent with the parameter (its OID).
    static var postgresDataType: PostgresDataType { get }
    /// Writes the text-format representation. Call `buffer.writeNull()` instead to send NULL.
    func encode(into buffer: inout PostgresEncodingBuffer)
}

/// Bytes of the text representation of one bound value, written by `PostgresEncodable.encode(into:)`.
public struct PostgresEncodingBuffer: Sendable {
    @usableFromInline var bytes: [UInt8] = []
    @usableFromInline var isNull = false
    /// A reason the value cannot be sent (never contains the value itself).
    @usableFromInline var failure: String?

    @usableFromInline init() {}

    @inlinable
    public mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func write(_ string: Substring) {
        var string = string
        string.withUTF8 { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public mutating func write(byte: UInt8) {
        bytes.append(byte)
    }

    @inlinable
    public mutating func write(bytes newBytes: some Sequence<UInt8>) {
        bytes.append(contentsOf: newBytes)
    }

    /// Writes a decimal integer without allocating.
    public mutating func write(integer value: Int64) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        let digitStart = bytes.count
        while magnitude > 0 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        }
        bytes[digitStart...].reverse()
    }

    /// Marks the value as SQL NULL (what `Optional.none` does).
    public mutating func writeNull() {
        isNull = true
    }

    /// Refuses to send the value; the query then throws `PostgresError(code: .encodingFailed)`.
    /// `reason` is printed in the error's description, so it must not contain the value.
    public mutating func fail(reason: String) {
        if failure == nil { failure = reason }
    }
}

/// The bound parameters of a `PostgresQuery`: every value's text bytes in one buffer plus an index.
public struct PostgresBindings: Sendable, CustomStringConvertible {
    @usableFromInline
    struct Parameter: Sendable {
        /// Start of the value in `storage.bytes`, or -1 for NULL.
        var offset: Int32
        var type: UInt32
    }

    @usableFromInline var storage = PostgresEncodingBuffer()
    @usableFromInline var parameters: [Parameter] = []

    public init() {}

    /// The number of bound values.
    public var count: Int { parameters.count }

    /// The types of the bound values, in order.
    public var dataTypes: [PostgresDataType] { parameters.map { PostgresDataType($0.type) } }

    /// Appends a value; its placeholder is `$\(count)` after the call.
    public mutating func append(_ value: some PostgresEncodable) {
        let start = storage.bytes.count
        value.encode(into: &storage)
        let type = type(of: value).postgresDataType.rawValue
        if storage.isNull {
            storage.isNull = false
            storage.bytes.removeSubrange(start...)
            parameters.append(Parameter(offset: -1, type: type))
            return
        }
        // Text-format parameters are NUL-terminated C strings: an embedded NUL would silently truncate the
        // value, so refuse it (PostgreSQL text cannot store NUL anyway).
        if storage.bytes[start...].contains(0) {
            storage.fail(reason: "parameter $\(parameters.count + 1) contains a NUL byte")
        }
        storage.bytes.append(0)
        parameters.append(Parameter(offset: Int32(start), type: type))
    }

    mutating func append(contentsOf other: PostgresBindings) {
        let base = Int32(storage.bytes.count)
        storage.bytes.append(contentsOf: other.storage.bytes)
        if let failure = other.storage.failure { storage.fail(reason: failure) }
        for parameter in other.parameters {
            parameters.append(Parameter(offset: parameter.offset < 0 ? -1 : parameter.offset + base, type: parameter.type))
        }
    }

    var parameterTypes: [UInt32] { parameters.map(\.type) }

    func hasTypes(_ types: [UInt32]) -> Bool {
        guard types.count == parameters.count else { return false }
        for index in 0..<types.count where types[index] != parameters[index].type { return false }
        return true
    }

    /// Values are never printed.
    public var description: String {
        "[" + Array(repeating: "****", count: parameters.count).joined(separator: ", ") + "]"
    }

    /// Calls `body` with the C arrays `PQsendQueryParams` takes (types, values), valid only during the call.
    func withCArrays<R>(
        _ body: (UnsafePointer<UInt32>?, UnsafePointer<UnsafePointer<CChar>?>?) throws -> R
    ) rethrows -> R {
        let count = parameters.count
        if count == 0 { return try body(nil, nil) }
        return try storage.bytes.withUnsafeBufferPointer { bytes in
            try withUnsafeTemporaryAllocation(of: UInt32.self, capacity: count) { types in
                try withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { values in
                    let base = UnsafeRawPointer(bytes.baseAddress!)
                    for index in 0..<count {
                        let parameter = parameters[index]
                        types[index] = parameter.type
                        values[index] = parameter.offset < 0
                            ? nil
                            : (base + Int(parameter.offset)).assumingMemoryBound(to: CChar.self)
                    }
                    return try body(UnsafePointer(types.baseAddress!), UnsafePointer(values.baseAddress!))
                }
            }
        }
    }
}

// MARK: - Conformances

extension String: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .text }
    @inlinable public func encode(into buffer: inout PostgresEncodingBuffer) { buffer.write(self) }
}

extension Substring: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .text }
    @inlinable public func encode(into buffer: inout PostgresEncodingBuffer) { buffer.write(self) }
}

extension Int: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int8 }
    public func encode(into buffer: inout PostgresEncodingBuffer) { buffer.write(integer: Int64(self)) }
}

extension Int64: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int8 }
    public func encode(into buffer: inout PostgresEncodingBuffer) { buffer.write(integer: self) }
}

extension Int32: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int4 }
    public func encode(into buffer: inout PostgresEncodingBuffer) { buffer.write(integer: Int64(self)) }
}

extension Int16: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int2 }
    public func encode(into buffer: inout PostgresEncodingBuffer) { buffer.write(integer: Int64(self)) }
}

extension UInt8: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .int2 }
    public func encode(into buffer: inout PostgresEncodingBuffer) { buffer.write(integer: Int64(self)) }
}

extension Bool: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .bool }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        buffer.write(byte: self ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }
}

extension Double: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .float8 }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        if isNaN {
            buffer.write("NaN")
        } else if isInfinite {
            buffer.write(self < 0 ? "-Infinity" : "Infinity")
        } else {
            buffer.write(description)  // shortest representation that round-trips
        }
    }
}

extension Float: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .float4 }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        if isNaN {
            buffer.write("NaN")
        } else if isInfinite {
            buffer.write(self < 0 ? "-Infinity" : "Infinity")
        } else {
            buffer.write(description)
        }
    }
}

extension Decimal: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .numeric }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        buffer.write(isNaN ? "NaN" : description)
    }
}

extension Date: PostgresEncodable {
    /// Sent as `timestamptz` in UTC with microsecond precision (PostgreSQL's resolution).
    public static var postgresDataType: PostgresDataType { .timestamptz }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        PostgresDateTime.writeTimestamp(self, into: &buffer)
    }
}

extension UUID: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .uuid }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        let hex: StaticString = "0123456789abcdef"
        withUnsafeBytes(of: uuid) { raw in
            hex.withUTF8Buffer { digits in
                for (index, byte) in raw.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 { buffer.write(byte: UInt8(ascii: "-")) }
                    buffer.write(byte: digits[Int(byte >> 4)])
                    buffer.write(byte: digits[Int(byte & 0x0F)])
                }
            }
        }
    }
}

extension Data: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { .bytea }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        withUnsafeBytes { PostgresBytea.writeHex($0, into: &buffer) }
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { Wrapped.postgresDataType }
    public func encode(into buffer: inout PostgresEncodingBuffer) {
        switch self {
        case .none: buffer.writeNull()
        case .some(let value): value.encode(into: &buffer)
        }
    }
}

extension PostgresEncodable where Self: RawRepresentable, RawValue: PostgresEncodable {
    public static var postgresDataType: PostgresDataType { RawValue.postgresDataType }
    public func encode(into buffer: inout PostgresEncodingBuffer) { rawValue.encode(into: &buffer) }
}

/// Sends any `Encodable` value as `jsonb`: `"INSERT … VALUES (\(PostgresJSON(attributes)))"`.
public struct PostgresJSON<Value: Encodable & Sendable>: PostgresEncodable {
    public var value: Value
    public init(_ value: Value) { self.value = value }

    public static var postgresDataType: PostgresDataType { .jsonb }

    public func encode(into buffer: inout PostgresEncodingBuffer) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        do {
            buffer.write(bytes: try encoder.encode(value))
        } catch {
            buffer.fail(reason: "JSONEncoder could not encode \(Value.self)")
        }
    }
}

enum PostgresBytea {
    /// bytea hex format: `\x` followed by two lowercase hex digits per byte.
    static func writeHex(_ raw: UnsafeRawBufferPointer, into buffer: inout PostgresEncodingBuffer) {
        let hex: StaticString = "0123456789abcdef"
        buffer.bytes.reserveCapacity(buffer.bytes.count + 2 + raw.count * 2)
        buffer.write(byte: UInt8(ascii: "\\"))
        buffer.write(byte: UInt8(ascii: "x"))
        hex.withUTF8Buffer { digits in
            for byte in raw {
                buffer.bytes.append(digits[Int(byte >> 4)])
                buffer.bytes.append(digits[Int(byte & 0x0F)])
            }
        }
    }
}
