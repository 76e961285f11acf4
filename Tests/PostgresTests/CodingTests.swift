import Foundation
import Postgres
import PostgresTestSupport
import Testing

/// Sends `value` as a parameter, has the server cast it back, and decodes it.
private func roundTrip<T: PostgresEncodable & PostgresDecodable>(
    _ value: T, as type: String, on connection: PostgresConnection
) async throws -> T {
    let rows = try await connection.query("SELECT \(value)::\(unsafeSQL: type) AS v")
    return try rows[0].decode("v", as: T.self)
}

private enum Channel: String, PostgresEncodable, PostgresDecodable {
    case sms, voice
}

private struct Attributes: Codable, Equatable, Sendable {
    var plan: String
    var tags: [String]
    var score: Double?
}

@Suite("Encoding and decoding values")
struct CodingTests {
    @Test("strings, integers, booleans and floats round-trip")
    func scalars() async throws {
        try await withTestConnection { connection in
            for text in ["", "plain", "quote ' and \" and \\ backslash", "multi\nline\ttab", "ünïcødé — 日本語 🎉", String(repeating: "x", count: 100_000)] {
                #expect(try await roundTrip(text, as: "text", on: connection) == text)
            }
            let substring = try await connection.query("SELECT \(Substring("a substring").dropFirst(2)) AS v")
            #expect(try substring[0].decode("v", as: String.self) == "substring")
            for number in [0, 1, -1, Int.max, Int.min, 1_234_567_890_123] {
                #expect(try await roundTrip(number, as: "int8", on: connection) == number)
            }
            #expect(try await roundTrip(Int16.min, as: "int2", on: connection) == Int16.min)
            #expect(try await roundTrip(Int32.max, as: "int4", on: connection) == Int32.max)
            #expect(try await roundTrip(Int64.min, as: "int8", on: connection) == Int64.min)
            #expect(try await roundTrip(true, as: "bool", on: connection) == true)
            #expect(try await roundTrip(false, as: "bool", on: connection) == false)
            for double in [0.0, -0.5, 1.0 / 3.0, 1e-300, 1.7976931348623157e308, .infinity, -.infinity] {
                #expect(try await roundTrip(double, as: "float8", on: connection) == double)
            }
            #expect(try await roundTrip(Double.nan, as: "float8", on: connection).isNaN)
            #expect(try await roundTrip(Float(3.25), as: "float4", on: connection) == 3.25)
            #expect(try await roundTrip(Float(0.1), as: "float4", on: connection) == Float(0.1))
        }
    }

    @Test("numeric round-trips as Decimal without losing digits")
    func numeric() async throws {
        try await withTestConnection { connection in
            for text in ["0", "12.50", "-0.000001", "12345678901234567890.123456789", "99999999999999999999999999999999999999"] {
                let decimal = try #require(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")))
                #expect(try await roundTrip(decimal, as: "numeric", on: connection) == decimal)
            }
            let rows = try await connection.query("SELECT 10.25::numeric AS price, 3::int4 AS qty")
            #expect(try rows[0].decode("price", as: Decimal.self) == Decimal(string: "10.25"))
            #expect(try rows[0].decode("price", as: Double.self) == 10.25)
            #expect(try rows[0].decode("qty", as: Decimal.self) == 3)
        }
    }

    @Test("Date round-trips through timestamptz at microsecond precision, and reads timestamp and date")
    func dates() async throws {
        try await withTestConnection { connection in
            let micros = Date(timeIntervalSince1970: 1_700_000_000.123456)
            #expect(try await roundTrip(micros, as: "timestamptz", on: connection) == micros)
            for seconds in [0.0, -1.5, 951_782_400, 4_102_444_800.000001, -62_135_596_800, -62_198_755_200] {
                let date = Date(timeIntervalSince1970: seconds)  // includes year 1 and 2 BC
                #expect(try await roundTrip(date, as: "timestamptz", on: connection) == date)
            }
            // The session time zone does not matter: offsets are parsed.
            try await connection.query("SET TimeZone TO 'Asia/Kolkata'")
            #expect(try await roundTrip(micros, as: "timestamptz", on: connection) == micros)

            let rows = try await connection.query(
                "SELECT '2024-02-29 13:14:15.5'::timestamp AS ts, '2024-02-29'::date AS d, 'infinity'::timestamptz AS inf"
            )
            let expected = try #require(ISO8601DateFormatter().date(from: "2024-02-29T13:14:15Z"))
            #expect(try rows[0].decode("ts", as: Date.self) == expected.addingTimeInterval(0.5))
            #expect(try rows[0].decode("d", as: Date.self) == ISO8601DateFormatter().date(from: "2024-02-29T00:00:00Z"))
            #expect(try rows[0].decode("inf", as: Date.self) == .distantFuture)
        }
    }

    @Test("UUID, bytea and JSON round-trip")
    func uuidBytesJSON() async throws {
        try await withTestConnection { connection in
            let id = UUID()
            #expect(try await roundTrip(id, as: "uuid", on: connection) == id)

            let allBytes = [UInt8](0...255) + [0, 0, 92, 120]
            #expect(try await roundTrip(allBytes, as: "bytea", on: connection) == allBytes)
            #expect(try await roundTrip([UInt8](), as: "bytea", on: connection) == [])
            #expect(try await roundTrip(Data(allBytes), as: "bytea", on: connection) == Data(allBytes))

            let attributes = Attributes(plan: "pro", tags: ["a", "b\"c"], score: nil)
            let rows = try await connection.query("SELECT \(PostgresJSON(attributes)) AS doc, NULL::jsonb AS nothing")
            #expect(try rows[0].decodeJSON("doc", as: Attributes.self) == attributes)
            let raw = try #require(try rows[0].rawJSON("doc"))
            let reparsed = try JSONSerialization.jsonObject(with: raw) as? [String: Any]
            #expect(reparsed?["plan"] as? String == "pro")
            #expect(try rows[0].rawJSON("nothing") == nil)
            #expect(try rows[0].isNull("nothing"))
            #expect(try rows[0].decodeJSON("doc", as: [String: AnyCodableProbe].self)["plan"] == .string("pro"))
        }
    }

    @Test("arrays keep quotes, commas, braces, NULL elements and unicode")
    func arrays() async throws {
        try await withTestConnection { connection in
            let tricky = ["plain", "with,comma", "with \"quote\"", "back\\slash", "{braces}", "NULL", "", " spaced ", "ünï 🎉", "tab\tnew\nline"]
            #expect(try await roundTrip(tricky, as: "text[]", on: connection) == tricky)
            #expect(try await roundTrip([String](), as: "text[]", on: connection) == [])

            let withNulls: [String?] = ["a", nil, "NULL", nil]
            #expect(try await roundTrip(withNulls, as: "text[]", on: connection) == withNulls)

            #expect(try await roundTrip([1, -2, Int.max], as: "int8[]", on: connection) == [1, -2, Int.max])
            let ids = [UUID(), UUID()]
            #expect(try await roundTrip(ids, as: "uuid[]", on: connection) == ids)
            #expect(try await roundTrip([1.5, -0.25, .infinity], as: "float8[]", on: connection) == [1.5, -0.25, .infinity])

            let rows = try await connection.query("SELECT ARRAY['a', 'b c']::varchar[] AS v, ARRAY[1, 2]::int4[] AS i")
            #expect(try rows[0].decode("v", as: [String].self) == ["a", "b c"])
            #expect(try rows[0].decode("i", as: [Int].self) == [1, 2])

            // A NULL element into a non-optional element type is an error, not a silent drop.
            let nullElement = await expectPostgresError {
                _ = try await connection.query("SELECT ARRAY['a', NULL] AS v")[0].decode("v", as: [String].self)
            }
            #expect(nullElement?.code == .decodingFailed)

            // unnest() of bound arrays, the batch-update shape.
            let unnested = try await connection.query("SELECT x FROM unnest(\(tricky)::text[]) AS x")
            #expect(try unnested.map { try $0.decode("x", as: String.self) } == tricky)
        }
    }

    @Test("NULL decodes to nil for optionals of every type")
    func nulls() async throws {
        try await withTestConnection { connection in
            let rows = try await connection.query("""
                SELECT NULL::text AS s, NULL::int8 AS i, NULL::bool AS b, NULL::float8 AS f, NULL::numeric AS n,
                       NULL::timestamptz AS t, NULL::uuid AS u, NULL::bytea AS by, NULL::text[] AS a
                """)
            let row = rows[0]
            #expect(try row.decode("s", as: String?.self) == nil)
            #expect(try row.decode("i", as: Int?.self) == nil)
            #expect(try row.decode("b", as: Bool?.self) == nil)
            #expect(try row.decode("f", as: Double?.self) == nil)
            #expect(try row.decode("n", as: Decimal?.self) == nil)
            #expect(try row.decode("t", as: Date?.self) == nil)
            #expect(try row.decode("u", as: UUID?.self) == nil)
            #expect(try row.decode("by", as: Data?.self) == nil)
            #expect(try row.decode("a", as: [String]?.self) == nil)

            let none: Int? = nil
            let some: Int? = 5
            let bound = try await connection.query("SELECT \(none)::int8 AS a, \(some)::int8 AS b")
            #expect(try bound[0].decode("a", as: Int?.self) == nil)
            #expect(try bound[0].decode("b", as: Int?.self) == 5)
        }
    }

    @Test("NULL into a non-optional is a decoding error")
    func nullIntoNonOptional() async throws {
        try await withTestConnection { connection in
            let rows = try await connection.query("SELECT NULL::text AS nickname")
            let error = await expectPostgresError { _ = try rows[0].decode("nickname", as: String.self) }
            #expect(error?.code == .decodingFailed)
            #expect(error?.description.contains("NULL") == true)
            #expect(error?.description.contains("nickname") == true)
        }
    }

    @Test("a decoding error names the column, its index, the PostgreSQL type and the Swift type, never the value")
    func decodingErrorContext() async throws {
        try await withTestConnection { connection in
            let rows = try await connection.query("SELECT 1 AS id, \("+15551234567") AS phone")
            let error = await expectPostgresError { _ = try rows[0].decode("phone", as: Int.self) }
            #expect(error?.code == .decodingFailed)
            let description = error?.description ?? ""
            #expect(description.contains("\"phone\""))
            #expect(description.contains("index 1"))
            #expect(description.contains("text"))
            #expect(description.contains("Int"))
            #expect(!description.contains("5551234567"))

            let byIndex = await expectPostgresError { _ = try rows[0].decode(0, as: UUID.self) }
            #expect(byIndex?.description.contains("index 0") == true)
            #expect(byIndex?.description.contains("int4") == true)
            #expect(byIndex?.description.contains("UUID") == true)

            let missing = await expectPostgresError { _ = try rows[0].decode("nope", as: Int.self) }
            #expect(missing?.code == .decodingFailed)
            let outOfRange = await expectPostgresError { _ = try rows[0].decode(5, as: Int.self) }
            #expect(outOfRange?.code == .decodingFailed)

            let overflow = try await connection.query("SELECT 70000::int4 AS big")
            let narrowed = await expectPostgresError { _ = try overflow[0].decode("big", as: Int16.self) }
            #expect(narrowed?.description.contains("Int16") == true)

            let json = try await connection.query("SELECT '{\"plan\": 5}'::jsonb AS doc")
            let jsonError = await expectPostgresError { _ = try json[0].decodeJSON("doc", as: Attributes.self) }
            #expect(jsonError?.code == .decodingFailed)
            #expect(jsonError?.description.contains("Attributes") == true)
        }
    }

    @Test("rows decode positionally into tuples")
    func tuples() async throws {
        try await withTestConnection { connection in
            let rows = try await connection.query("SELECT 7 AS id, 'ann' AS name, NULL::bool AS active, now() AS at")
            let (id, name, active, at) = try rows[0].decode((Int, String, Bool?, Date).self)
            #expect(id == 7)
            #expect(name == "ann")
            #expect(active == nil)
            #expect(abs(at.timeIntervalSinceNow) < 60)
            #expect(rows.columns == ["id", "name", "active", "at"])
            #expect(rows[0].columns == rows.columns)
        }
    }

    @Test("RawRepresentable enums encode and decode through their raw values")
    func enums() async throws {
        try await withTestConnection { connection in
            #expect(try await roundTrip(Channel.voice, as: "text", on: connection) == .voice)
            let rows = try await connection.query("SELECT 'fax' AS channel")
            let error = await expectPostgresError { _ = try rows[0].decode("channel", as: Channel.self) }
            #expect(error?.code == .decodingFailed)
        }
    }

    @Test("a string with a NUL byte is refused before it reaches the server")
    func nulByte() async throws {
        try await withTestConnection { connection in
            let error = await expectPostgresError { _ = try await connection.query("SELECT \("a\u{0}b") AS v") }
            #expect(error?.code == .encodingFailed)
            let one = try await connection.query("SELECT 1 AS one")[0].decode("one", as: Int.self)
            #expect(one == 1)
        }
    }

    @Test("rows iterate as a collection and report affected rows")
    func rowsCollection() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL)")
            let inserted = try await connection.query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g")
            #expect(inserted.affectedRows == 5)
            #expect(inserted.isEmpty)
            let rows = try await connection.query("SELECT id, name FROM items WHERE id > \(2) ORDER BY id")
            #expect(rows.count == 3)
            #expect(try rows.map { try $0.decode("id", as: Int.self) } == [3, 4, 5])
            let updated = try await connection.query("UPDATE items SET name = \("renamed") WHERE id <= \(2)")
            #expect(updated.affectedRows == 2)
            let ddl = try await connection.query("CREATE INDEX items_name ON items (name)")
            #expect(ddl.affectedRows == 0)
        }
    }

    @Test("composed queries execute with their bindings in the right order")
    func composedExecution() async throws {
        try await withTestConnection { connection in
            let condition: PostgresQuery = "x > \(2) AND x < \(9)"
            let rows = try await connection.query("SELECT x FROM generate_series(1, \(10)) x WHERE x % \(2) = 0 AND \(condition) ORDER BY x")
            #expect(try rows.map { try $0.decode(0, as: Int.self) } == [4, 6, 8])
        }
    }
}

/// A minimal JSON value for decoding a document loosely.
private enum AnyCodableProbe: Decodable, Equatable {
    case string(String), other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self = (try? container.decode(String.self)).map(AnyCodableProbe.string) ?? .other
    }
}
