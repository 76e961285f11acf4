/// A JSON value: template variables (`"variables": {…}`), provider `config` objects, the
/// settings document. One type for all of them, shared by every layer.
///
/// Decodes from any JSON (so the HTTP layer can decode the request straight into it) and
/// encodes back to the same JSON.
public enum JSONValue: Sendable, Equatable, Hashable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case object([String: JSONValue])
    case array([JSONValue])
    case null

    /// The text a scalar renders as; nil for objects, arrays and null.
    ///
    /// Whole numbers print without a fraction (`3`, not `3.0`) as long as a double holds them
    /// exactly (|n| < 2^53); other numbers print in Swift's shortest round-tripping form (`0.1`, `1e+300`).
    public var text: String? {
        switch self {
        case .string(let string): return string
        case .bool(let bool): return bool ? "true" : "false"
        case .number(let number):
            if number.rounded() == number, abs(number) < 9_007_199_254_740_992 {
                return String(Int64(number))
            }
            return "\(number)"
        case .object, .array, .null: return nil
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: Codable {
    private struct MemberKey: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        // Containers first: errors inside them must surface with their own coding path.
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: MemberKey.self) {
            var values: [String: JSONValue] = [:]
            for key in object.allKeys { values[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(values)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let bool = try? single.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? single.decode(Double.self) {
            self = .number(number)
        } else if let string = try? single.decode(String.self) {
            self = .string(string)
        } else {
            throw DecodingError.dataCorruptedError(in: single, debugDescription: "not a JSON value Herald can hold")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .string(let string):
            var single = encoder.singleValueContainer()
            try single.encode(string)
        case .number(let number):
            var single = encoder.singleValueContainer()
            try single.encode(number)
        case .bool(let bool):
            var single = encoder.singleValueContainer()
            try single.encode(bool)
        case .null:
            var single = encoder.singleValueContainer()
            try single.encodeNil()
        case .array(let items):
            var array = encoder.unkeyedContainer()
            for item in items { try array.encode(item) }
        case .object(let values):
            var object = encoder.container(keyedBy: MemberKey.self)
            for (key, value) in values { try object.encode(value, forKey: MemberKey(stringValue: key)) }
        }
    }
}

extension JSONValue {
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
}
