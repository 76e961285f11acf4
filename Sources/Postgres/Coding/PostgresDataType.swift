/// A PostgreSQL type, identified by its OID (`pg_type.oid`). Built-in OIDs are stable across versions.
public struct PostgresDataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// Lets the server infer the type from context (OID 0).
    public static let unspecified = PostgresDataType(0)
    public static let bool = PostgresDataType(16)
    public static let bytea = PostgresDataType(17)
    public static let char = PostgresDataType(18)
    public static let name = PostgresDataType(19)
    public static let int8 = PostgresDataType(20)
    public static let int2 = PostgresDataType(21)
    public static let int4 = PostgresDataType(23)
    public static let text = PostgresDataType(25)
    public static let oid = PostgresDataType(26)
    public static let json = PostgresDataType(114)
    public static let float4 = PostgresDataType(700)
    public static let float8 = PostgresDataType(701)
    public static let unknown = PostgresDataType(705)
    public static let bpchar = PostgresDataType(1042)
    public static let varchar = PostgresDataType(1043)
    public static let date = PostgresDataType(1082)
    public static let time = PostgresDataType(1083)
    public static let timestamp = PostgresDataType(1114)
    public static let timestamptz = PostgresDataType(1184)
    public static let interval = PostgresDataType(1186)
    public static let numeric = PostgresDataType(1700)
    public static let uuid = PostgresDataType(2950)
    public static let jsonb = PostgresDataType(3802)

    public static let boolArray = PostgresDataType(1000)
    public static let byteaArray = PostgresDataType(1001)
    public static let int2Array = PostgresDataType(1005)
    public static let int4Array = PostgresDataType(1007)
    public static let textArray = PostgresDataType(1009)
    public static let bpcharArray = PostgresDataType(1014)
    public static let varcharArray = PostgresDataType(1015)
    public static let int8Array = PostgresDataType(1016)
    public static let float4Array = PostgresDataType(1021)
    public static let float8Array = PostgresDataType(1022)
    public static let timestampArray = PostgresDataType(1115)
    public static let dateArray = PostgresDataType(1182)
    public static let timestamptzArray = PostgresDataType(1185)
    public static let numericArray = PostgresDataType(1231)
    public static let uuidArray = PostgresDataType(2951)
    public static let jsonArray = PostgresDataType(199)
    public static let jsonbArray = PostgresDataType(3807)
    public static let nameArray = PostgresDataType(1003)

    private static let names: [UInt32: String] = [
        0: "unspecified", 16: "bool", 17: "bytea", 18: "char", 19: "name", 20: "int8", 21: "int2", 23: "int4",
        25: "text", 26: "oid", 114: "json", 700: "float4", 701: "float8", 705: "unknown", 1042: "bpchar",
        1043: "varchar", 1082: "date", 1083: "time", 1114: "timestamp", 1184: "timestamptz", 1186: "interval",
        1700: "numeric", 2950: "uuid", 3802: "jsonb",
    ]

    /// For array types: the element type. `nil` for non-array (or unknown array) types.
    public var arrayElementType: PostgresDataType? {
        switch self {
        case .boolArray: .bool
        case .byteaArray: .bytea
        case .int2Array: .int2
        case .int4Array: .int4
        case .int8Array: .int8
        case .textArray: .text
        case .bpcharArray: .bpchar
        case .varcharArray: .varchar
        case .nameArray: .name
        case .float4Array: .float4
        case .float8Array: .float8
        case .timestampArray: .timestamp
        case .timestamptzArray: .timestamptz
        case .dateArray: .date
        case .numericArray: .numeric
        case .uuidArray: .uuid
        case .jsonArray: .json
        case .jsonbArray: .jsonb
        default: nil
        }
    }

    public var description: String {
        if let name = Self.names[rawValue] { return name }
        if let element = arrayElementType { return "\(element)[]" }
        return "oid \(rawValue)"
    }

    var isInteger: Bool { self == .int2 || self == .int4 || self == .int8 || self == .oid }
    var isFloat: Bool { self == .float4 || self == .float8 }
}
