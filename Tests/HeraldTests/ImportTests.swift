import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import SMS
import Testing

@Suite("CSV imports of contacts: COPY into staging, one merge, bad rows reported with their line")
struct ImportTests {
    static let csvHeaders: HTTPFields = [.contentType: "text/csv"]

    static func post(_ client: any TestClientProtocol, _ auth: HTTPFields, _ csv: String, query: String = "")
        async throws -> (HTTPResponse.Status, [String: Any])
    {
        var headers = auth
        headers[.contentType] = "text/csv; charset=utf-8"
        return try await client.execute(uri: "/v1/imports" + query, method: .post, headers: headers, body: ByteBuffer(string: csv)) {
            ($0.status, $0.json)
        }
    }

    static func count(_ herald: TestHerald, _ sql: PostgresQuery) async throws -> Int64 {
        try await herald.pool.query(sql)[0].decode(0, as: Int64.self)
    }

    /// A file with good rows and every kind of bad one, line numbers in the comments.
    static let messyFile: String = {
        let long = String(repeating: "x", count: 50_000)
        return [
            "Phone,First Name,last_name,TAGS,Plan,order-count,timezone",  // 1
            "+4915112345601,Anna,Schmidt,vip;newsletter,pro,3,Europe/Berlin",  // 2
            "015112345602,Bernd,,,free,,",  // 3: national, read with ?country=DE
            "\"+4915112345603\",\"Carla, Jr.\",\"Quote \"\"Q\"\" Name\",,pro,1,",  // 4: quoted fields
            "+4915112345604,Dora\"s,Broken,,,,",  // 5: stray quote
            "+4915112345601,Anna again,,,,,",  // 6: repeats line 2
            "not-a-number,Eve,,,,,",  // 7: invalid number
            "+4915112345605,Fritz,,,\(long),,",  // 8: a 50,000-character cell
            "+4915112345606,Gina,,,,,Mars/Base",  // 9: bad zone
            "+4915112345607,Hans,,,,,,extra",  // 10: one field too many
            "",  // 11: blank, skipped
            "\"+4915112345608,Ida,never closed",  // 12: unclosed quote
            "+4915112345609,Jan,,a;b,,7,UTC",  // 13
        ].joined(separator: "\r\n") + "\r\n"
    }()

    @Test("a messy file imports its good rows and reports each bad one with its line, field and reason")
    func messy() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let (status, json) = try await Self.post(client, auth, Self.messyFile, query: "?country=DE&tags=fair2026,import")
                #expect(status == .accepted)
                #expect(json["status"] as? String == "completed")
                #expect(json["total_rows"] as? Int == 11)
                #expect(json["imported"] as? Int == 4)
                #expect(json["updated"] as? Int == 0)
                #expect(json["rejected"] as? Int == 7)
                let errors = try #require(json["errors"] as? [[String: Any]])
                let summary = errors.map { "\($0["line"] as? Int ?? 0) \($0["field"] as? String ?? "-")" }
                #expect(summary == ["5 -", "6 phone", "7 phone", "8 plan", "9 timezone", "10 -", "12 -"])
                #expect(errors.first { $0["line"] as? Int == 6 }?["message"] as? String == "repeats the number of line 2")
                #expect(errors.first { $0["line"] as? Int == 8 }?["message"] as? String == "is longer than 1000 characters")

                let rows = try await herald.pool.query(
                    """
                    SELECT phone, first_name, last_name, tags, attributes::text, timezone, subscribed FROM contacts ORDER BY phone
                    """)
                #expect(try rows.map { try $0.decode(0, as: String.self) } == [
                    "+4915112345601", "+4915112345602", "+4915112345603", "+4915112345609",
                ])
                let anna = try #require(rows.first)
                #expect(try anna.decode(1, as: String.self) == "Anna")
                #expect(try anna.decode(3, as: [String].self) == ["vip", "newsletter", "fair2026", "import"])
                #expect(try anna.decode(4, as: String.self) == #"{"plan": "pro", "order_count": "3"}"#)
                #expect(try anna.decode(5, as: String.self) == "Europe/Berlin")
                #expect(try anna.decode(6, as: Bool.self))
                let carla = rows[2]
                #expect(try carla.decode(1, as: String.self) == "Carla, Jr.")
                #expect(try carla.decode(2, as: String.self) == #"Quote "Q" Name"#)
                #expect(try await Self.count(herald, "SELECT count(*)::int8 FROM consent_events WHERE source = 'import' AND action = 'subscribe'") == 4)
            }
        }
    }

    @Test("re-importing the same file changes nothing; a changed row updates only what it says, and never resubscribes")
    func reimport() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let file = "phone,first_name,tags,plan\n+14155550100,Ada,a,pro\n+14155550101,Bob,,free\n+14155550102,Cy,b;c,\n"
                let (_, first) = try await Self.post(client, auth, file)
                #expect(first["imported"] as? Int == 3)
                let before = try await herald.pool.query("SELECT phone, updated_at, xmin::text FROM contacts ORDER BY phone")
                let (_, again) = try await Self.post(client, auth, file)
                #expect(again["imported"] as? Int == 0)
                #expect(again["updated"] as? Int == 0)
                #expect(again["unchanged"] as? Int == 3)
                let after = try await herald.pool.query("SELECT phone, updated_at, xmin::text FROM contacts ORDER BY phone")
                #expect(try before.map { try $0.decode(2, as: String.self) } == after.map { try $0.decode(2, as: String.self) },
                        "no row was written again")
                #expect(try await Self.count(herald, "SELECT count(*)::int8 FROM consent_events") == 3)

                // Bob opts out; a new file changes his plan and adds a tag, and leaves the rest.
                let bobID: UUID = try await herald.pool.query("SELECT id FROM contacts WHERE phone = '+14155550101'")[0].decode(0)
                _ = try await herald.core.contacts.setSubscribed(id: bobID, false, consent: nil, source: "api", actor: nil)
                let (_, third) = try await Self.post(client, auth, "phone,plan,tags\n+14155550101,pro,vip\n+14155550100,pro,a\n")
                #expect(third["updated"] as? Int == 1)
                #expect(third["unchanged"] as? Int == 1)
                let bob = try await herald.core.contacts.contact(id: bobID)
                #expect(bob.firstName == "Bob")
                #expect(bob.attributes == ["plan": "pro"])
                #expect(bob.tags == ["vip"])
                #expect(!bob.subscribed, "an import never undoes an opt-out")
            }
        }
    }

    @Test("a file that cannot be read at all is refused before anything is written", arguments: [
        ("first_name,last_name\nAda,L\n", "text/csv", 400, "header"),
        ("phone,phone\n+14155550100,+14155550101\n", "text/csv", 400, "header"),
        ("phone,\"bad;column\"\n+14155550100,x\n", "text/csv", 400, "header"),
        ("", "text/csv", 400, "header"),
        ("\"phone\n", "text/csv", 400, "header"),
        ("phone\n+14155550100\n", "application/json", 415, nil),
    ] as [(String, String, Int, String?)])
    func refused(file: String, contentType: String, status: Int, field: String?) async throws {
        try await TestHerald.with { herald in
            var headers = try await herald.bearer(["contacts"])
            headers[.contentType] = contentType
            let auth = headers
            try await herald.test { client in
                let (code, json) = try await client.execute(uri: "/v1/imports", method: .post, headers: auth, body: ByteBuffer(string: file)) {
                    ($0.status.code, $0.json)
                }
                #expect(code == status)
                #expect((json["error"] as? [String: Any])?["field"] as? String == field)
            }
            #expect(try await Self.count(herald, "SELECT count(*)::int8 FROM imports") == 0)
            #expect(try await Self.count(herald, "SELECT count(*)::int8 FROM contacts") == 0)
        }
    }

    @Test("a bad ?country or ?tags is a validation error naming it")
    func badOptions() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let (status, json) = try await Self.post(client, auth, "phone\n+14155550100\n", query: "?country=ZZ")
                #expect(status == .badRequest)
                #expect((json["error"] as? [String: Any])?["field"] as? String == "country")
                let (tagStatus, tagJSON) = try await Self.post(client, auth, "phone\n+14155550100\n", query: "?tags=ok,\(String(repeating: "t", count: 70))")
                #expect(tagStatus == .badRequest)
                #expect((tagJSON["error"] as? [String: Any])?["field"] as? String == "tags[1]")
            }
        }
    }

    @Test("streamed in small chunks, 20,000 rows import; GET /v1/imports/{id} and the list show the record")
    func streamed() async throws {
        try await TestHerald.with { herald in
            var file = "phone,first_name,score\n"
            for index in 0..<20_000 { file += "+1415\(String(format: "%07d", 2_000_000 + index)),P\(index),\(index % 7)\n" }
            let bytes = Array(file.utf8)
            let chunks = AsyncStream<[UInt8]> { continuation in
                var offset = 0
                while offset < bytes.count {
                    let next = min(bytes.count, offset + 1_000)
                    continuation.yield(Array(bytes[offset..<next]))
                    offset = next
                }
                continuation.finish()
            }
            let progress = ProgressLog()
            let record = try await herald.core.imports.run(chunks, options: .init(actor: "cli")) { progress.append($0) }
            #expect(record.status == .completed)
            #expect(record.totalRows == 20_000)
            #expect(record.imported == 20_000)
            #expect(record.rejected == 0)
            #expect(progress.rows.count >= 4, "progress is reported while reading")
            #expect(progress.merging)
            #expect(try await Self.count(herald, "SELECT count(*)::int8 FROM contacts") == 20_000)

            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let status = try await client.execute(uri: "/v1/imports/\(record.id.uuidString.lowercased())", method: .get, headers: auth) {
                    #expect($0.json["imported"] as? Int == 20_000)
                    #expect($0.json["finished_at"] is String)
                    return $0.status
                }
                #expect(status == .ok)
                try await client.execute(uri: "/v1/imports", method: .get, headers: auth) {
                    #expect(($0.json["data"] as? [[String: Any]])?.count == 1)
                }
                let missing = try await client.execute(uri: "/v1/imports/\(UUID().uuidString)", method: .get, headers: auth) { $0.status }
                #expect(missing == .notFound)
            }
        }
    }

    @Test("a file over the size limit fails as payload_too_large, is recorded as failed, and imports nothing")
    func tooLarge() async throws {
        try await TestHerald.with { herald in
            var file = "phone\n"
            for index in 0..<2_000 { file += "+1415\(2_000_000 + index)\n" }
            let bytes = Array(file.utf8)
            let chunks = AsyncStream<[UInt8]> { continuation in
                for start in stride(from: 0, to: bytes.count, by: 4_096) { continuation.yield(Array(bytes[start..<min(bytes.count, start + 4_096)])) }
                continuation.finish()
            }
            await #expect(throws: HeraldError.self) {
                _ = try await herald.core.imports.run(chunks, options: .init(maximumBytes: 10_000))
            }
            #expect(try await Self.count(herald, "SELECT count(*)::int8 FROM contacts") == 0)
            let rows = try await herald.pool.query("SELECT status, failure FROM imports")
            #expect(try rows[0].decode(0, as: String.self) == "failed")
            #expect(try rows[0].decode(1, as: String.self).contains("larger than"))
        }
    }

    @Test("two slow uploads at once are the limit: a third is refused with server_busy, not queued on the pool")
    func concurrentLimit() async throws {
        try await TestHerald.with { herald in
            var feeds: [AsyncStream<[UInt8]>.Continuation] = []
            var imports: [Task<ContactImportRecord, any Error>] = []
            for index in 0..<2 {
                let (stream, feed) = AsyncStream<[UInt8]>.makeStream()
                feed.yield(Array("phone\n+1415200000\(index)\n".utf8))
                feeds.append(feed)
                imports.append(Task { try await herald.core.imports.run(stream, options: .init()) })
            }
            // Both have started (their import rows exist) and wait for the rest of their files.
            let deadline = ContinuousClock.now + .seconds(30)
            while try await herald.pool.query("SELECT count(*)::int8 FROM imports")[0].decode(0, as: Int64.self) < 2 {
                guard ContinuousClock.now < deadline else { Issue.record("the two imports did not start"); return }
                try await Task.sleep(for: .milliseconds(20))
            }
            let third = AsyncStream<[UInt8]> { $0.yield(Array("phone\n+14152000009\n".utf8)); $0.finish() }
            let error = await #expect(throws: HeraldError.self) { _ = try await herald.core.imports.run(third, options: .init()) }
            #expect(error?.code == .serverBusy)
            #expect(error?.retryAfter == 10)
            for feed in feeds { feed.finish() }
            for task in imports { #expect(try await task.value.imported == 1) }
            // A slot is free again.
            let fourth = AsyncStream<[UInt8]> { $0.yield(Array("phone\n+14152000008\n".utf8)); $0.finish() }
            #expect(try await herald.core.imports.run(fourth, options: .init()).imported == 1)
        }
    }

    @Test("header columns: known names in any spelling, the rest attributes by their normalised header")
    func columns() throws {
        let columns = try ContactImport.columns(["Email", "PHONE", "First-Name", "last name", "Tags", "Customer Tier"])
        #expect(columns.phone == 1)
        #expect(columns.firstName == 2)
        #expect(columns.lastName == 3)
        #expect(columns.tags == 4)
        #expect(columns.attributes.map(\.key) == ["email", "customer_tier"])
        #expect(throws: HeraldError.self) { try ContactImport.columns(["phone", "1st"]) }
        #expect(throws: HeraldError.self) { try ContactImport.columns(["phone"] + (0...100).map { "a\($0)" }) }
        #expect(ContactImport.arrayLiteral(["a", "b\"c", "d\\e", ""]) == #"{"a","b\"c","d\\e",""}"#)
        #expect(ContactImport.jsonObject([("k", "v\"\n\u{1}")]) == #"{"k":"v\"\n\u0001"}"#)
    }
}

/// Progress reports collected from the importer's callback.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [ImportService.Progress] = []
    func append(_ report: ImportService.Progress) { lock.withLock { reports.append(report) } }
    var rows: [Int] { lock.withLock { reports.filter { !$0.merging }.map(\.rows) } }
    var merging: Bool { lock.withLock { reports.contains { $0.merging } } }
}
