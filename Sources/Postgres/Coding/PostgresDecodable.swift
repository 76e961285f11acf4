import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A Swift value that can be read from a column in PostgreSQL's text format.
///
/// ```swift
/// extension MessageStatus: PostgresDecodable {}   // a RawRepresentable enum with String raw values
/// ```
public protocol PostgresDecodable {
    /// Decodes a non-NULL value. `bytes` is the text representation, valid only during the call.
    /// Throw `PostgresDecodingFailure` with a reason that does not repeat the value.
    static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Self
    /// Called for SQL NULL. The default throws (`NULL` into a non-optional); `Optional` returns `nil`.
    static func decodeNull() throws -> Self
}

extension PostgresDecodable {
    public static func decodeNull() throws -> Self {
        throw PostgresDecodingFailure("the value is NULL; decode as an Optional")
    }
}

/// Why a value could not be decoded. The reason is printed in logs, so it never contains the value.
public struct PostgresDecodingFailure: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }

    static func unexpectedType(_ type: PostgresDataType) -> PostgresDecodingFailure {
        PostgresDecodingFailure("unsupported PostgreSQL type \(type)")
    }
}

// MARK: - Parsing helpers

private let posixLocale = Locale(identifier: "en_US_POSIX")

enum PostgresText {
    /// Parses an optionally signed decimal integer of the whole buffer.
    @inline(__always)
    static func parseInteger(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        var index = 0
        let count = bytes.count
        guard count > 0 else { return nil }
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            index = 1
            guard count > 1 else { return nil }
        }
        var value: Int64 = 0
        while index < count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (multiplied, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = negative
                ? multiplied.subtractingReportingOverflow(Int64(digit))
                : multiplied.addingReportingOverflow(Int64(digit))
            if overflow1 || overflow2 { return nil }
            value = added
            index += 1
        }
        return value
    }

    static func integer<T: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType, as _: T.Type) throws -> T {
        guard type.isInteger || type == .numeric else { throw PostgresDecodingFailure.unexpectedType(type) }
        guard let value = parseInteger(bytes) else {
            throw PostgresDecodingFailure("the text is not an integer that fits Int64")
        }
        guard let narrowed = T(exactly: value) else {
            throw PostgresDecodingFailure("the integer is out of range for \(T.self)")
        }
        return narrowed
    }

    /// strtod over a NUL-terminated copy (handles NaN, Infinity, exponents).
    static func double(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Double {
        guard type.isFloat || type.isInteger || type == .numeric else { throw PostgresDecodingFailure.unexpectedType(type) }
        guard bytes.count > 0, bytes.count < 400 else { throw PostgresDecodingFailure("the text is not a number") }
        return try withUnsafeTemporaryAllocation(of: CChar.self, capacity: bytes.count + 1) { copy in
            for index in 0..<bytes.count { copy[index] = CChar(bitPattern: bytes[index]) }
            copy[bytes.count] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(copy.baseAddress!, &end)
            guard let end, end == copy.baseAddress! + bytes.count else {
                throw PostgresDecodingFailure("the text is not a number")
            }
            return value
        }
    }

    static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}

// MARK: - Conformances

extension String: PostgresDecodable {
    /// Any type decodes as its text representation.
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> String {
        PostgresText.string(bytes)
    }
}

extension Int: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int {
        try PostgresText.integer(bytes, type: type, as: Int.self)
    }
}

extension Int64: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int64 {
        try PostgresText.integer(bytes, type: type, as: Int64.self)
    }
}

extension Int32: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int32 {
        try PostgresText.integer(bytes, type: type, as: Int32.self)
    }
}

extension Int16: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Int16 {
        try PostgresText.integer(bytes, type: type, as: Int16.self)
    }
}

extension UInt8: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> UInt8 {
        try PostgresText.integer(bytes, type: type, as: UInt8.self)
    }
}

extension Bool: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Bool {
        guard type == .bool else { throw PostgresDecodingFailure.unexpectedType(type) }
        guard bytes.count == 1 else { throw PostgresDecodingFailure("the text is not t or f") }
        switch bytes[0] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: throw PostgresDecodingFailure("the text is not t or f")
        }
    }
}

extension Double: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Double {
        try PostgresText.double(bytes, type: type)
    }
}

extension Float: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Float {
        Float(try PostgresText.double(bytes, type: type))
    }
}

extension Decimal: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Decimal {
        guard type == .numeric || type.isInteger || type.isFloat else { throw PostgresDecodingFailure.unexpectedType(type) }
        let text = PostgresText.string(bytes)
        if text == "NaN" { return .nan }
        guard let value = Decimal(string: text, locale: posixLocale), !value.isNaN else {
            throw PostgresDecodingFailure("the text is not a finite number Decimal can hold")
        }
        return value
    }
}

extension Date: PostgresDecodable {
    /// timestamptz, timestamp (read as UTC) and date (UTC midnight). `infinity` → `distantFuture`, `-infinity` → `distantPast`.
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Date {
        guard type == .timestamptz || type == .timestamp || type == .date else {
            throw PostgresDecodingFailure.unexpectedType(type)
        }
        return try PostgresDateTime.parse(bytes)
    }
}

extension UUID: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> UUID {
        guard type == .uuid || type == .text || type == .varchar || type == .unknown else {
            throw PostgresDecodingFailure.unexpectedType(type)
        }
        guard let uuid = parseUUID(bytes) else { throw PostgresDecodingFailure("the text is not a UUID") }
        return uuid
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// PostgreSQL prints the canonical 8-4-4-4-12 lowercase form; braces or missing hyphens are also accepted.
    static func parseUUID(_ bytes: UnsafeRawBufferPointer) -> UUID? {
        var raw: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var produced = 0
        var high: UInt8?
        let ok = withUnsafeMutableBytes(of: &raw) { out -> Bool in
            for byte in bytes {
                if byte == UInt8(ascii: "-") || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") { continue }
                guard let nibble = hexValue(byte), produced < 16 else { return false }
                if let first = high {
                    out[produced] = first << 4 | nibble
                    produced += 1
                    high = nil
                } else {
                    high = nibble
                }
            }
            return produced == 16 && high == nil
        }
        return ok ? UUID(uuid: raw) : nil
    }
}

extension Data: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Data {
        Data(try [UInt8].decodeBytea(bytes, type: type))
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Wrapped? {
        try Wrapped.decode(from: bytes, type: type)
    }

    public static func decodeNull() throws -> Wrapped? { nil }
}

extension PostgresDecodable where Self: RawRepresentable, RawValue: PostgresDecodable {
    public static func decode(from bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> Self {
        let raw = try RawValue.decode(from: bytes, type: type)
        guard let value = Self(rawValue: raw) else {
            throw PostgresDecodingFailure("the value is not a case of \(Self.self)")
        }
        return value
    }
}

extension Array where Element == UInt8 {
    /// bytea in hex (`\x0a0b`, the default `bytea_output`) or escape format.
    static func decodeBytea(_ bytes: UnsafeRawBufferPointer, type: PostgresDataType) throws -> [UInt8] {
        guard type == .bytea else { throw PostgresDecodingFailure.unexpectedType(type) }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x") {
            guard bytes.count % 2 == 0 else { throw PostgresDecodingFailure("the bytea hex text has an odd length") }
            return try [UInt8](unsafeUninitializedCapacity: (bytes.count - 2) / 2) { out, initialized in
                var index = 2
                while index < bytes.count {
                    guard let high = hexNibble(bytes[index]), let low = hexNibble(bytes[index + 1]) else {
                        throw PostgresDecodingFailure("the bytea hex text has a non-hex digit")
                    }
                    out[initialized] = high << 4 | low
                    initialized += 1
                    index += 2
                }
            }
        }
        // Escape format: `\\` is a backslash, `\ooo` an octal byte, anything else is itself.
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte != UInt8(ascii: "\\") {
                result.append(byte)
                index += 1
            } else if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\\") {
                result.append(byte)
                index += 2
            } else if index + 3 < bytes.count, (1...3).allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[index + $0]) }) {
                let value = (Int(bytes[index + 1]) - 48) * 64 + (Int(bytes[index + 2]) - 48) * 8 + (Int(bytes[index + 3]) - 48)
                guard value < 256 else { throw PostgresDecodingFailure("the bytea escape text is malformed") }
                result.append(UInt8(value))
                index += 4
            } else {
                throw PostgresDecodingFailure("the bytea escape text is malformed")
            }
        }
        return result
    }

    private static func hexNibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
