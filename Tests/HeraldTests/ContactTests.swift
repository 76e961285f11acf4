import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Contacts: upsert by phone, consent ledger, search, deletion that keeps an opt-out")
struct ContactTests {
    /// POSTs `object` to `uri` and returns the status and the JSON body.
    static func call(_ client: any TestClientProtocol, _ uri: String, _ method: HTTPRequest.Method = .post,
                     _ headers: HTTPFields, _ object: Any? = nil) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await client.execute(uri: uri, method: method, headers: headers, body: object.map(jsonBody)) { ($0.status, $0.json) }
    }

    static func error(_ json: [String: Any]) -> (code: String?, field: String?) {
        let error = json["error"] as? [String: Any]
        return (error?["code"] as? String, error?["field"] as? String)
    }

    @Test("an upsert creates (201), then updates the same number however it is written (200): fields replace, attributes merge, tags add")
    func upsert() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let (status, created) = try await Self.call(client, "/v1/contacts", .post, auth, [
                    "phone": "(415) 555-0100", "country": "us", "first_name": "  Ada ", "last_name": "Lovelace",
                    "locale": "pt-br", "timezone": "america/new_york", "attributes": ["plan": "pro", "orders": 3],
                    "tags": ["vip", "newsletter", "vip"],
                    "consent": ["source": "checkout_form", "text": "Yes, text me offers", "ip": "203.0.113.9",
                                "at": "2026-11-30T10:00:00Z"],
                ])
                #expect(status == .created)
                #expect(created["phone"] as? String == "+14155550100")
                #expect(created["country"] as? String == "US")
                #expect(created["first_name"] as? String == "Ada")
                #expect(created["locale"] as? String == "pt-BR")
                #expect(created["timezone"] as? String == "America/New_York")
                #expect(created["tags"] as? [String] == ["vip", "newsletter"])
                #expect(created["subscribed"] as? Bool == true)
                let id = try #require(created["id"] as? String)

                let (again, updated) = try await Self.call(client, "/v1/contacts", .post, auth, [
                    "phone": "+1 415 555 0100", "first_name": "Augusta", "attributes": ["plan": NSNull(), "city": "London"],
                    "tags": ["newsletter", "beta"],
                ])
                #expect(again == .ok)
                #expect(updated["id"] as? String == id)
                #expect(updated["first_name"] as? String == "Augusta")
                #expect(updated["last_name"] as? String == "Lovelace", "absent fields keep their value")
                #expect(updated["attributes"] as? NSDictionary == ["orders": 3, "city": "London"] as NSDictionary)
                #expect(updated["tags"] as? [String] == ["vip", "newsletter", "beta"])

                let (_, ledger) = try await Self.call(client, "/v1/contacts/\(id)/consent", .get, auth)
                let entries = try #require(ledger["data"] as? [[String: Any]])
                #expect(entries.count == 1, "an update without consent writes no entry")
                #expect(entries.first?["action"] as? String == "subscribe")
                #expect(entries.first?["source"] as? String == "checkout_form")
                #expect(entries.first?["text"] as? String == "Yes, text me offers")
                #expect(entries.first?["ip"] as? String == "203.0.113.9")
                #expect(entries.first?["consented_at"] as? String == "2026-11-30T10:00:00Z")
                #expect((entries.first?["actor"] as? String)?.hasPrefix("api_key:") == true)
            }
        }
    }

    @Test("bad input gets the documented error naming the field, and writes nothing", arguments: [
        (#"{"phone": "12"}"#, "invalid_phone_number", "phone"),
        (#"{"first_name": "A"}"#, "validation_failed", "phone"),
        (#"{"phone": "+14155550101", "country": "XX"}"#, "validation_failed", "country"),
        (#"{"phone": "+14155550101", "timezone": "Mars/Olympus"}"#, "validation_failed", "timezone"),
        (#"{"phone": "+14155550101", "locale": "not a locale"}"#, "validation_failed", "locale"),
        (#"{"phone": "+14155550101", "first_name": "\#(String(repeating: "x", count: 101))"}"#, "validation_failed", "first_name"),
        (#"{"phone": "+14155550101", "first_name": "a\u0007b"}"#, "validation_failed", "first_name"),
        (#"{"phone": "+14155550101", "attributes": {"bad key": 1}}"#, "validation_failed", "attributes.bad key"),
        (#"{"phone": "+14155550101", "attributes": {"'; DROP TABLE contacts; --": 1}}"#, "validation_failed",
         "attributes.'; DROP TABLE contacts; --"),
        (#"{"phone": "+14155550101", "attributes": {"blob": "\#(String(repeating: "x", count: 20_000))"}}"#, "validation_failed", "attributes"),
        (#"{"phone": "+14155550101", "attributes": "plan=pro"}"#, "validation_failed", "attributes"),
        (#"{"phone": "+14155550101", "tags": ["a;b"]}"#, "validation_failed", "tags[0]"),
        (#"{"phone": "+14155550101", "tags": [\#((0..<51).map { "\"t\($0)\"" }.joined(separator: ","))]}"#, "validation_failed", "tags"),
        (#"{"phone": "+14155550101", "consent": {"at": "2999-01-01T00:00:00Z"}}"#, "validation_failed", "consent.at"),
        (#"{"phone": "+14155550101", "consent": {"at": "yesterday"}}"#, "validation_failed", "consent.at"),
        (#"{"phone": "+14155550101", "consent": {"ip": "999.1.1.1"}}"#, "validation_failed", "consent.ip"),
        (#"{"phone": "+14155550101", "consent": {"source": "a b"}}"#, "validation_failed", "consent.source"),
    ])
    func badInput(body: String, code: String, field: String) async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let (status, json) = try await client.execute(
                    uri: "/v1/contacts", method: .post, headers: auth, body: ByteBuffer(string: body)) { ($0.status, $0.json) }
                #expect(status == .badRequest)
                #expect(Self.error(json).code == code)
                #expect(Self.error(json).field == field)
                let (_, list) = try await Self.call(client, "/v1/contacts", .get, auth)
                #expect((list["data"] as? [Any])?.isEmpty == true, "nothing half-written")
            }
        }
    }

    @Test("an opt-out survives re-upserts without consent and the contact's deletion; new consent subscribes again")
    func optOutSurvives() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts", "messages"])
            try await herald.test { client in
                let (_, created) = try await Self.call(client, "/v1/contacts", .post, auth,
                                                       ["phone": "+14155550102", "first_name": "Grace", "tags": ["vip"]])
                let id = try #require(created["id"] as? String)
                let (badAt, refusal) = try await Self.call(client, "/v1/contacts/\(id)/unsubscribe", .post, auth, ["at": "soon"])
                #expect(badAt == .badRequest)
                #expect(Self.error(refusal).field == "at", "the body is the consent: its fields are named bare")
                let (status, unsubscribed) = try await Self.call(client, "/v1/contacts/\(id)/unsubscribe", .post, auth,
                                                                 ["text": "asked on the phone"])
                #expect(status == .ok)
                #expect(unsubscribed["subscribed"] as? Bool == false)

                let (_, reimported) = try await Self.call(client, "/v1/contacts", .post, auth, ["phone": "+14155550102", "last_name": "Hopper"])
                #expect(reimported["subscribed"] as? Bool == false, "an upsert without consent never undoes an opt-out")

                // Deleted: personal data gone, the opt-out kept.
                let deleted = try await client.execute(uri: "/v1/contacts/\(id)", method: .delete, headers: auth) { $0.status }
                #expect(deleted == .noContent)
                let (gone, _) = try await Self.call(client, "/v1/contacts/\(id)", .get, auth)
                #expect(gone == .notFound)
                #expect(try await herald.core.consent.isSubscribed(phone: "+14155550102") == false)
                let rows = try await herald.pool.query(
                    "SELECT first_name, last_name, tags FROM contacts WHERE phone = '+14155550102'")
                #expect(try rows[0].decode(0, as: String?.self) == nil)
                #expect(try rows[0].decode(1, as: String?.self) == nil)
                #expect(try rows[0].decode(2, as: [String].self) == [])
                let (refused, json) = try await Self.call(client, "/v1/messages", .post, auth,
                                                          ["to": "+14155550102", "body": "Sale!", "kind": "marketing"])
                #expect(refused == .conflict)
                #expect(Self.error(json).code == "recipient_unsubscribed")

                // Added again: a new contact, still unsubscribed; with consent, subscribed.
                let (again, back) = try await Self.call(client, "/v1/contacts", .post, auth, ["phone": "+14155550102"])
                #expect(again == .created)
                #expect(back["subscribed"] as? Bool == false)
                #expect(back["first_name"] is NSNull)
                let (_, consented) = try await Self.call(client, "/v1/contacts", .post, auth,
                                                         ["phone": "+14155550102", "consent": ["source": "web_form"]])
                #expect(consented["subscribed"] as? Bool == true)
                let newID = try #require(consented["id"] as? String)
                let (_, ledger) = try await Self.call(client, "/v1/contacts/\(newID)/consent", .get, auth)
                let entries = try #require(ledger["data"] as? [[String: Any]])
                #expect(entries.map { $0["action"] as? String } == ["subscribe", "unsubscribe", "subscribe"])
                #expect(entries.map { $0["source"] as? String } == ["api", "api", "web_form"])
                #expect(entries[1]["text"] as? String == "asked on the phone")
            }
        }
    }

    @Test("deleting a subscribed contact removes it entirely; its ledger stays")
    func deleteSubscribed() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let (_, created) = try await Self.call(client, "/v1/contacts", .post, auth, ["phone": "+14155550103", "first_name": "Linus"])
                let id = try #require(created["id"] as? String)
                #expect(try await client.execute(uri: "/v1/contacts/\(id)", method: .delete, headers: auth) { $0.status } == .noContent)
                #expect(try await client.execute(uri: "/v1/contacts/\(id)", method: .delete, headers: auth) { $0.status } == .notFound)
                let rows = try await herald.pool.query("SELECT count(*)::int8 FROM contacts")
                #expect(try rows[0].decode(0, as: Int64.self) == 0)
                #expect(try await herald.core.consent.ledger(phone: "+14155550103").map(\.action) == ["subscribe"])
            }
        }
    }

    @Test("list: newest first, paginated, searched by name or digits (wildcards and quotes are only text), filtered by tag and subscription")
    func list() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let people: [(String, String, [String])] = [
                    ("+4915112345601", "Anna", ["vip"]), ("+4915112345602", "Bernd", []), ("+4915112345603", "Anneliese", ["vip"]),
                    ("+4915112345604", "100%_sure", []), ("+4915199999905", "O'Brien", ["vip"]),
                ]
                for (phone, name, tags) in people {
                    _ = try await Self.call(client, "/v1/contacts", .post, auth, ["phone": phone, "first_name": name, "tags": tags])
                }
                func names(_ query: String) async throws -> [String] {
                    let (status, json) = try await Self.call(client, "/v1/contacts" + query, .get, auth)
                    #expect(status == .ok, "\(query)")
                    return (json["data"] as? [[String: Any]] ?? []).compactMap { $0["first_name"] as? String }
                }
                #expect(try await names("") == ["O'Brien", "100%_sure", "Anneliese", "Bernd", "Anna"])
                #expect(try await names("?search=ann") == ["Anneliese", "Anna"])
                #expect(try await names("?search=%25") == ["100%_sure"], "% is a character, not a wildcard")
                #expect(try await names("?search=_") == ["100%_sure"])
                #expect(try await names("?search=o'b") == ["O'Brien"])
                #expect(try await names("?search=%27%3B%20DROP%20TABLE%20contacts%3B%20--") == [])
                #expect(try await names("?search=99999") == ["O'Brien"])
                #expect(try await names("?search=%2B49%20151%201234%205602") == ["Bernd"])
                #expect(try await names("?tag=vip") == ["O'Brien", "Anneliese", "Anna"])

                // Pages of two, following next_cursor to the end.
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let query = "/v1/contacts?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let (_, json) = try await Self.call(client, query, .get, auth)
                    seen += (json["data"] as? [[String: Any]] ?? []).compactMap { $0["first_name"] as? String }
                    cursor = json["next_cursor"] as? String
                } while cursor != nil
                #expect(seen == ["O'Brien", "100%_sure", "Anneliese", "Bernd", "Anna"])

                let (_, anna) = try await Self.call(client, "/v1/contacts?search=anna", .get, auth)
                let annaID = try #require((anna["data"] as? [[String: Any]])?.first?["id"] as? String)
                _ = try await Self.call(client, "/v1/contacts/\(annaID)/unsubscribe", .post, auth)
                #expect(try await names("?subscribed=false") == ["Anna"])
                let (bad, json) = try await Self.call(client, "/v1/contacts?subscribed=maybe", .get, auth)
                #expect(bad == .badRequest)
                #expect(Self.error(json).field == "subscribed")
                let (long, longJSON) = try await Self.call(client, "/v1/contacts?search=" + String(repeating: "a", count: 101), .get, auth)
                #expect(long == .badRequest)
                #expect(Self.error(longJSON).field == "search")
            }
        }
    }

    @Test("patch: a merge patch of names, locale, zone, attributes and tags; the number and the subscription are not patched")
    func patch() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts"])
            try await herald.test { client in
                let (_, created) = try await Self.call(client, "/v1/contacts", .post, auth, [
                    "phone": "+33612345678", "first_name": "Marie", "last_name": "Curie", "locale": "fr",
                    "attributes": ["a": 1, "b": 2], "tags": ["x"],
                ])
                let id = try #require(created["id"] as? String)
                let (status, patched) = try await Self.call(client, "/v1/contacts/\(id)", .patch, auth, [
                    "last_name": NSNull(), "timezone": "Europe/Paris", "attributes": ["a": NSNull(), "c": [1, 2]], "tags": ["y", "z"],
                ])
                #expect(status == .ok)
                #expect(patched["first_name"] as? String == "Marie")
                #expect(patched["last_name"] is NSNull)
                #expect(patched["locale"] as? String == "fr")
                #expect(patched["timezone"] as? String == "Europe/Paris")
                #expect(patched["attributes"] as? NSDictionary == ["b": 2, "c": [1, 2]] as NSDictionary)
                #expect(patched["tags"] as? [String] == ["y", "z"])
                for (body, field) in [(["phone": "+33612345679"], "phone"), (["subscribed": false], "subscribed"),
                                      (["timezone": "Paris"], "timezone"), (["tags": ["ok", ""]], "tags[1]")] as [([String: Any], String)] {
                    let (refused, json) = try await Self.call(client, "/v1/contacts/\(id)", .patch, auth, body)
                    #expect(refused == .badRequest, "\(body)")
                    #expect(Self.error(json).field == field)
                }
                let (_, after) = try await Self.call(client, "/v1/contacts/\(id)", .get, auth)
                #expect(after["subscribed"] as? Bool == true)
                #expect(after["tags"] as? [String] == ["y", "z"], "refused patches changed nothing")
                let (missing, _) = try await Self.call(client, "/v1/contacts/\(UUID().uuidString)", .patch, auth, ["first_name": "X"])
                #expect(missing == .notFound)
            }
        }
    }

    @Test("a contact's messages are listed; other scopes are refused and viewers cannot write")
    func messagesAndScopes() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["contacts", "messages"])
            try await herald.test { client in
                let (_, created) = try await Self.call(client, "/v1/contacts", .post, auth, ["phone": "+14155550104"])
                let id = try #require(created["id"] as? String)
                _ = try await Self.call(client, "/v1/messages", .post, auth, ["to": "+14155550104", "body": "Your order shipped"])
                _ = try await Self.call(client, "/v1/messages", .post, auth, ["to": "+14155550105", "body": "Someone else"])
                let (_, history) = try await Self.call(client, "/v1/contacts/\(id)/messages", .get, auth)
                let data = try #require(history["data"] as? [[String: Any]])
                #expect(data.map { $0["body"] as? String } == ["Your order shipped"])

                let other = try await herald.bearer(["messages"])
                let (forbidden, json) = try await Self.call(client, "/v1/contacts", .get, other)
                #expect(forbidden == .forbidden)
                #expect(Self.error(json).code == "forbidden")
            }
        }
    }
}
