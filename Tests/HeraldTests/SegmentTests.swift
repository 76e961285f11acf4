import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import NIOCore
import SMS
import Testing

@Suite("Segments against the database: every operator, live counts, samples, and hostile rules")
struct SegmentTests {
    static func seed(_ herald: TestHerald) async throws {
        let people: [ContactInput] = [
            ContactInput(phone: "+4915112345601", firstName: "Anna", attributes: ["plan": "pro", "orders": 5], tags: ["vip"]),
            ContactInput(phone: "+436641234567", firstName: "Bernd", attributes: ["plan": "free", "orders": "2"]),
            ContactInput(phone: "+14155550100", firstName: "Cy", locale: "en-US", timezone: "America/New_York",
                         attributes: ["plan": "pro", "orders": 1, "beta": true], tags: ["vip"]),
            ContactInput(phone: "+4915112345604", firstName: "Dana", tags: ["news"]),
            ContactInput(phone: "+33612345678", firstName: "Émile", attributes: ["orders": "abc"]),
        ]
        for person in people { _ = try await herald.core.contacts.upsert(person, source: "api", actor: nil) }
        let dana = try await herald.core.contacts.contacts(ContactFilter(search: "Dana"), limit: 1, cursor: nil).items[0]
        _ = try await herald.core.contacts.setSubscribed(id: dana.id, false, consent: nil, source: "api", actor: nil)
    }

    static func names(_ herald: TestHerald, _ rule: String) async throws -> [String] {
        let json = try JSONDecoder().decode(JSONValue.self, from: Data(rule.utf8))
        let preview = try await herald.core.segments.preview(rule: json)
        return preview.sample.compactMap(\.firstName).sorted()
    }

    @Test("each operator selects the contacts it should", arguments: [
        (#"{"field": "country", "op": "in", "value": ["de", "AT"]}"#, ["Anna", "Bernd", "Dana"]),
        (#"{"field": "country", "op": "ne", "value": "DE"}"#, ["Bernd", "Cy", "Émile"]),
        (#"{"field": "country", "op": "not_in", "value": ["DE", "US"]}"#, ["Bernd", "Émile"]),
        (#"{"field": "first_name", "op": "contains", "value": "AN"}"#, ["Anna", "Dana"]),
        (#"{"field": "first_name", "op": "starts_with", "value": "É"}"#, ["Émile"]),
        (#"{"field": "first_name", "op": "starts_with", "value": "ber"}"#, ["Bernd"]),
        (#"{"field": "first_name", "op": "eq", "value": "anna"}"#, ["Anna"]),
        (#"{"field": "phone", "op": "starts_with", "value": "+49"}"#, ["Anna", "Dana"]),
        (#"{"field": "locale", "op": "exists"}"#, ["Cy"]),
        (#"{"field": "timezone", "op": "not_exists"}"#, ["Anna", "Bernd", "Dana", "Émile"]),
        (#"{"field": "tags", "op": "has", "value": "vip"}"#, ["Anna", "Cy"]),
        (#"{"field": "tags", "op": "in", "value": ["news", "vip"]}"#, ["Anna", "Cy", "Dana"]),
        (#"{"field": "tags", "op": "not_in", "value": ["vip"]}"#, ["Bernd", "Dana", "Émile"]),
        (#"{"field": "tags", "op": "not_exists"}"#, ["Bernd", "Émile"]),
        (#"{"field": "attributes.plan", "op": "eq", "value": "pro"}"#, ["Anna", "Cy"]),
        (#"{"field": "attributes.plan", "op": "ne", "value": "pro"}"#, ["Bernd", "Dana", "Émile"]),
        (#"{"field": "attributes.orders", "op": "gte", "value": 2}"#, ["Anna", "Bernd"]),
        (#"{"field": "attributes.orders", "op": "lt", "value": 2}"#, ["Cy"]),
        (#"{"field": "attributes.orders", "op": "eq", "value": 2}"#, ["Bernd"]),
        (#"{"field": "attributes.orders", "op": "in", "value": [5, "abc"]}"#, ["Anna", "Émile"]),
        (#"{"field": "attributes.beta", "op": "eq", "value": true}"#, ["Cy"]),
        (#"{"field": "attributes.plan", "op": "not_exists"}"#, ["Dana", "Émile"]),
        (#"{"field": "attributes.plan", "op": "contains", "value": "RE"}"#, ["Bernd"]),
        (#"{"any": [{"field": "country", "op": "eq", "value": "US"}, {"field": "first_name", "op": "eq", "value": "Émile"}]}"#, ["Cy", "Émile"]),
        (#"{"not": {"field": "attributes.orders", "op": "gte", "value": 2}}"#, ["Cy", "Dana", "Émile"]),
        (#"{"field": "created_at", "op": "within_days", "value": 1}"#, ["Anna", "Bernd", "Cy", "Dana", "Émile"]),
        (#"{"field": "created_at", "op": "before", "value": "2000-01-01T00:00:00Z"}"#, []),
    ])
    func operators(rule: String, expected: [String]) async throws {
        try await TestHerald.with { herald in
            try await Self.seed(herald)
            #expect(try await Self.names(herald, rule) == expected.sorted(), "\(rule)")
        }
    }

    @Test("the API.md example, with within_days counted from the injected clock")
    func example() async throws {
        try await TestHerald.with { herald in
            try await Self.seed(herald)
            let rule = #"""
                {"all": [{"field": "country", "op": "in", "value": ["DE", "AT"]}, {"field": "tags", "op": "has", "value": "vip"},
                         {"any": [{"field": "attributes.plan", "op": "eq", "value": "pro"}, {"field": "attributes.orders", "op": "gte", "value": 3}]},
                         {"not": {"field": "created_at", "op": "within_days", "value": 7}}]}
                """#
            #expect(try await Self.names(herald, rule) == [], "everyone was created within the last 7 days")
            herald.clock.advance(by: .seconds(8 * 86_400))
            #expect(try await Self.names(herald, rule) == ["Anna"])
        }
    }

    @Test("hostile values through every field and operator run as plain values: no error, no match, nothing changed")
    func hostile() async throws {
        try await TestHerald.with { herald in
            try await Self.seed(herald)
            // (`_` is left out: America/New_York rightly contains one.)
            let hostile = ["'; DROP TABLE contacts; --", "\" OR 1=1 --", "') OR ('a'='a", "%", "%%", "\\", "$1", "x'::text"]
            var checked = 0
            for field in ["phone", "country", "locale", "timezone", "first_name", "last_name", "tags", "attributes.plan", "attributes.x'y"] {
                for op in ["eq", "ne", "in", "not_in", "contains", "starts_with", "has", "exists"] {
                    for text in hostile {
                        let value: JSONValue = op == "in" || op == "not_in" ? .array([.string(text)]) : .string(text)
                        var object: [String: JSONValue] = ["field": .string(field), "op": .string(op)]
                        if op != "exists" { object["value"] = value }
                        let preview: SegmentService.Preview
                        do { preview = try await herald.core.segments.preview(rule: .object(object)) } catch let error as HeraldError {
                            #expect(error.code == .invalidRule, "\(field) \(op): \(error)")
                            continue
                        }
                        checked += 1
                        if ["eq", "in", "contains", "starts_with", "has"].contains(op) {
                            #expect(preview.count == 0, "\(field) \(op) \(text) matched \(preview.sample.map(\.firstName))")
                        }
                    }
                }
            }
            #expect(checked > 300)
            let rows = try await herald.pool.query("SELECT count(*)::int8 FROM contacts")
            #expect(try rows[0].decode(0, as: Int64.self) == 5)
        }
    }

    @Test("the API: create with live counts, invalid_rule pointing into the rule, patch, list, contacts by segment, preview, delete")
    func api() async throws {
        try await TestHerald.with { herald in
            try await Self.seed(herald)
            let auth = try await herald.bearer(["campaigns", "contacts"])
            try await herald.test { client in
                let vip = #"{"name": "VIPs", "rule": {"field": "tags", "op": "has", "value": "vip"}}"#
                let (status, created) = try await client.execute(uri: "/v1/segments", method: .post, headers: auth, body: ByteBuffer(string: vip)) {
                    ($0.status, $0.json)
                }
                #expect(status == .created)
                #expect(created["count"] as? Int == 2)
                #expect(created["subscribed"] as? Int == 2)
                #expect((created["rule"] as? [String: Any])?["op"] as? String == "has")
                let id = try #require(created["id"] as? String)
                let duplicate = try await client.execute(uri: "/v1/segments", method: .post, headers: auth, body: ByteBuffer(string: vip)) { $0.status }
                #expect(duplicate == .conflict)

                let bad = #"{"name": "Bad", "rule": {"all": [{"field": "country", "op": "eq", "value": "DE"}, {"field": "tags", "op": "gte", "value": 3}]}}"#
                try await client.execute(uri: "/v1/segments", method: .post, headers: auth, body: ByteBuffer(string: bad)) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorCode == "invalid_rule")
                    #expect(response.errorField == "rule.all[1].op")
                }

                let patch = #"{"rule": {"field": "country", "op": "eq", "value": "DE"}}"#
                try await client.execute(uri: "/v1/segments/\(id)", method: .patch, headers: auth, body: ByteBuffer(string: patch)) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["name"] as? String == "VIPs")
                    #expect(response.json["count"] as? Int == 2)
                    #expect(response.json["subscribed"] as? Int == 1, "Dana opted out")
                }
                try await client.execute(uri: "/v1/contacts?segment_id=\(id)", method: .get, headers: auth) { response in
                    let names = (response.json["data"] as? [[String: Any]])?.compactMap { $0["first_name"] as? String }
                    #expect(names?.sorted() == ["Anna", "Dana"])
                }
                try await client.execute(uri: "/v1/contacts?segment_id=\(UUID().uuidString)", method: .get, headers: auth) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorField == "segment_id")
                }
                try await client.execute(uri: "/v1/segments", method: .get, headers: auth) { response in
                    #expect((response.json["data"] as? [[String: Any]])?.first?["count"] as? Int == 2)
                }
                let preview = #"{"rule": {"field": "attributes.orders", "op": "gte", "value": 1}}"#
                try await client.execute(uri: "/v1/segments/preview", method: .post, headers: auth, body: ByteBuffer(string: preview)) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["count"] as? Int == 3)
                    #expect((response.json["sample"] as? [[String: Any]])?.count == 3)
                }
                try await client.execute(uri: "/v1/segments/preview", method: .post, headers: auth, body: ByteBuffer(string: "{}")) { response in
                    #expect(response.errorCode == "invalid_rule")
                    #expect(response.errorField == "rule")
                }
                #expect(try await client.execute(uri: "/v1/segments/\(id)", method: .delete, headers: auth) { $0.status } == .noContent)
                #expect(try await client.execute(uri: "/v1/segments/\(id)", method: .get, headers: auth) { $0.status } == .notFound)
            }
        }
    }
}
