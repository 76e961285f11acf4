import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing

/// Runs the workers of `herald` until `condition` holds, then stops them. Fails the test
/// (records an issue and throws) when the condition does not hold within `timeout`: a wait
/// never runs out quietly.
func dispatchUntil(
    _ herald: TestHerald, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: @Sendable () async throws -> Bool
) async throws {
    let met = try await runWorkers(herald, upTo: timeout, until: condition)
    guard met else {
        Issue.record("the condition did not hold within \(timeout)", sourceLocation: sourceLocation)
        throw WaitTimedOut(timeout: timeout)
    }
}

/// Runs the workers of `herald` for `duration` of real time: for checks that nothing
/// happens meanwhile (the clock has not reached a due time, a lease is still live).
func runWorkers(_ herald: TestHerald, for duration: Duration) async throws {
    _ = try await runWorkers(herald, upTo: duration, until: { false })
}

private func runWorkers(
    _ herald: TestHerald, upTo timeout: Duration, until condition: @Sendable () async throws -> Bool
) async throws -> Bool {
    let workers = herald.core.workers.all
    return try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in workers { group.addTask { try await worker.run() } }
        defer { group.cancelAll() }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }
}

/// A wait for a condition ran out.
struct WaitTimedOut: Error, CustomStringConvertible {
    let timeout: Duration
    var description: String { "the condition did not hold within \(timeout)" }
}

extension TestHerald {
    /// The message as stored, or nil when there is none.
    func message(_ id: UUID) async throws -> Message? {
        do { return try await core.messages.message(id: id) }
        catch let error as HeraldError where error.code == .notFound { return nil }
    }
}

func jsonBody(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

@Suite(.serialized) struct MessagingHTTPTests {
    @Test("a message with no provider configured goes to the outbox and ends sent")
    func outboxFlow() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["messages"])
            let admin = try await herald.bearer(["admin"])
            let id: String = try await herald.test { client in
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                         body: jsonBody(["to": "+14155550100", "body": "Your parcel is out for delivery"])) { response in
                    #expect(response.status == .accepted)
                    #expect(response.json["status"] as? String == "queued")
                    #expect(response.json["encoding"] as? String == "GSM-7")
                    #expect(response.json["segments"] as? Int == 1)
                    #expect(response.json["characters"] as? Int == 31)
                    return response.json["id"] as? String ?? ""
                }
            }
            try await dispatchUntil(herald) {
                try await herald.message(UUID(uuidString: id)!)?.status == .sent
            }
            try await herald.test { client in
                try await client.execute(uri: "/v1/messages/\(id)", method: .get, headers: auth) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["status"] as? String == "sent")
                    #expect(response.json["provider"] as? String == "outbox")
                    #expect(response.json["attempts"] as? Int == 1)
                    #expect(response.json["sent_at"] is String)
                }
                try await client.execute(uri: "/v1/outbox?to=%2B14155550100", method: .get, headers: admin) { response in
                    let data = response.json["data"] as? [[String: Any]] ?? []
                    #expect(data.count == 1)
                    #expect(data.first?["message_id"] as? String == id)
                    #expect(data.first?["body"] as? String == "Your parcel is out for delivery")
                }
                // The outbox is for admins only.
                try await client.execute(uri: "/v1/outbox", method: .get, headers: auth) { response in
                    #expect(response.status == .forbidden)
                }
            }
        }
    }

    @Test("bad input gets the documented error and queues nothing")
    func badInput() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["messages"])
            try await herald.test { client in
                let cases: [([String: Any], HTTPResponse.Status, String, String?)] = [
                    (["to": "12345", "body": "hi"], .badRequest, "invalid_phone_number", "to"),
                    (["to": "+1415555", "body": "hi"], .badRequest, "invalid_phone_number", "to"),
                    (["to": "not a number", "body": "hi"], .badRequest, "invalid_phone_number", "to"),
                    (["to": "+14155550100", "body": String(repeating: "x", count: 10_000)], .badRequest, "validation_failed", "body"),
                    (["to": "+14155550100"], .badRequest, "validation_failed", "body"),
                    (["body": "hi"], .badRequest, "validation_failed", "to"),
                    (["to": "+14155550100", "body": "   "], .badRequest, "validation_failed", "body"),
                    (["to": "+14155550100", "body": "hi", "channel": "fax"], .badRequest, "validation_failed", "channel"),
                    (["to": "+14155550100", "body": "hi", "kind": "spam"], .badRequest, "validation_failed", "kind"),
                    (["to": "+14155550100", "template": "nope"], .badRequest, "template_not_found", "template"),
                    (["to": "+14155550100", "body": 5], .badRequest, "validation_failed", "body"),
                    (["to": "4155550100", "country": "ZZ", "body": "hi"], .badRequest, "validation_failed", "country"),
                ]
                for (body, status, code, field) in cases {
                    try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json, body: jsonBody(body)) { response in
                        #expect(response.status == status, "\(body.keys.sorted())")
                        #expect(response.errorCode == code, "\(body.keys.sorted())")
                        #expect(response.errorField == field, "\(body.keys.sorted())")
                    }
                }
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json, body: ByteBuffer(string: "{nope")) { response in
                    #expect(response.errorCode == "invalid_json")
                }
                // A national number with a country hint is fine.
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                         body: jsonBody(["to": "(415) 555-0100", "country": "US", "body": "hi"])) { response in
                    #expect(response.status == .accepted)
                    #expect(response.json["to"] as? String == "+14155550100")
                }
            }
            let rows = try await herald.pool.query("SELECT count(*)::int FROM messages")
            #expect(try rows[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test("a message from a named template: locale fallback, missing variables named, kind and channel from the template")
    func fromTemplate() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["messages", "campaigns"])
            try await herald.test { client in
                try await client.execute(uri: "/v1/templates", method: .post, headers: auth.json, body: jsonBody([
                    "name": "order_shipped", "channel": "sms", "kind": "transactional",
                    "body": "Order {{order}} shipped", "translations": ["de": "Bestellung {{order}} versandt"],
                ])) { response in
                    #expect(response.status == .created)
                }
                for (locale, expected) in [("de-AT", "Bestellung A-17 versandt"), ("fr", "Order A-17 shipped")] {
                    try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json, body: jsonBody([
                        "to": "+14155550100", "template": "order_shipped", "variables": ["order": "A-17"], "locale": locale,
                    ])) { response in
                        #expect(response.status == .accepted)
                        #expect(response.json["body"] as? String == expected)
                        #expect(response.json["template_id"] is String)
                    }
                }
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json, body: jsonBody([
                    "to": "+14155550100", "template": "order_shipped", "variables": [:] as [String: String],
                ])) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorCode == "missing_variable")
                    #expect(response.errorField == "variables.order")
                }
            }
        }
    }

    @Test("listing by recipient finds settled, queued and in-flight messages, newest first")
    func listByRecipient() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["messages"])
            var ids: [UUID] = []
            for (to, body) in [("+14155550100", "one"), ("+14155550101", "other"), ("+14155550100", "two"), ("+14155550100", "three")] {
                ids.append(try await herald.core.messages.send(SendMessageRequest(to: to, body: body), apiKeyID: nil).id)
            }
            try await herald.pool.query("UPDATE messages SET status = 'delivered' WHERE id = \(ids[0])")
            try await herald.pool.query("UPDATE messages SET status = 'sending', lease_until = now() + interval '1 minute' WHERE id = \(ids[2])")
            try await herald.test { client in
                try await client.execute(uri: "/v1/messages?to=%2B14155550100&limit=2", method: .get, headers: auth) { response in
                    let data = response.json["data"] as? [[String: Any]] ?? []
                    #expect(data.map { $0["body"] as? String } == ["three", "two"])
                    let cursor = response.json["next_cursor"] as? String ?? ""
                    try await client.execute(uri: "/v1/messages?to=%2B14155550100&limit=2&cursor=\(cursor)", method: .get, headers: auth) { response in
                        let data = response.json["data"] as? [[String: Any]] ?? []
                        #expect(data.map { $0["body"] as? String } == ["one"])
                        #expect(response.json["next_cursor"] is NSNull)
                    }
                }
                try await client.execute(uri: "/v1/messages?to=%2B14155550100&status=delivered", method: .get, headers: auth) { response in
                    #expect((response.json["data"] as? [[String: Any]])?.count == 1)
                }
            }
        }
    }

    @Test("Idempotency-Key returns the first response; a different body conflicts")
    func idempotency() async throws {
        try await TestHerald.with { herald in
            var headers = try await herald.bearer(["messages"]).json
            headers[HTTPField.Name("Idempotency-Key")!] = "order-17"
            let auth = headers
            try await herald.test { client in
                let first = try await client.execute(uri: "/v1/messages", method: .post, headers: auth,
                                                     body: jsonBody(["to": "+14155550100", "body": "one"])) { $0.json["id"] as? String }
                let again = try await client.execute(uri: "/v1/messages", method: .post, headers: auth,
                                                     body: jsonBody(["to": "+14155550100", "body": "one"])) { response in
                    #expect(response.status == .accepted)
                    return response.json["id"] as? String
                }
                #expect(first != nil && first == again)
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth,
                                         body: jsonBody(["to": "+14155550100", "body": "two"])) { response in
                    #expect(response.status == .conflict)
                    #expect(response.errorCode == "idempotency_conflict")
                }
            }
            let rows = try await herald.pool.query("SELECT count(*)::int FROM messages")
            #expect(try rows[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test("marketing to an opted-out number is refused; transactional still goes")
    func optedOut() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["messages"])
            try await herald.core.consent.record(.init(phone: "+14155550100", subscribe: false, source: "api", text: "test"))
            try await herald.test { client in
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                         body: jsonBody(["to": "+14155550100", "body": "Sale!", "kind": "marketing"])) { response in
                    #expect(response.status == .conflict)
                    #expect(response.errorCode == "recipient_unsubscribed")
                }
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                         body: jsonBody(["to": "+14155550100", "body": "Your code is ready"])) { response in
                    #expect(response.status == .accepted)
                }
                // A marketing message to a subscribed number gets the opt-out footer.
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                         body: jsonBody(["to": "+14155550101", "body": "Sale!", "kind": "marketing"])) { response in
                    #expect(response.status == .accepted)
                    let id = response.json["id"] as? String ?? ""
                    try await client.execute(uri: "/v1/messages/\(id)", method: .get, headers: auth) { response in
                        #expect(response.json["body"] as? String == "Sale!\nReply STOP to opt out")
                    }
                }
            }
        }
    }

    @Test("settings restrict countries; bad settings name the field")
    func settings() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            let auth = try await herald.bearer(["messages"])
            try await herald.test { client in
                try await client.execute(uri: "/v1/settings", method: .patch, headers: admin.json,
                                         body: jsonBody(["allowed_countries": ["DE"]])) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["allowed_countries"] as? [String] == ["DE"])
                    #expect((response.json["events_signing_secret"] as? String)?.hasPrefix("whsec_") == true)
                }
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                         body: jsonBody(["to": "+14155550100", "body": "hi"])) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorCode == "country_not_allowed")
                }
                for (patch, field) in [
                    (["verification": ["ttl_seconds": 0]] as [String: Any], "verification.ttl_seconds"),
                    (["quiet_hours": ["start": "25:00", "end": "08:00"]], "quiet_hours.start"),
                    (["events_url": "ftp://x"], "events_url"),
                    (["allowed_countries": ["XX"]], "allowed_countries[0]"),
                    (["nonsense": 1], "nonsense"),
                ] {
                    try await client.execute(uri: "/v1/settings", method: .patch, headers: admin.json, body: jsonBody(patch)) { response in
                        #expect(response.status == .badRequest)
                        #expect(response.errorCode == "validation_failed")
                        #expect(response.errorField == field)
                    }
                }
                // Nothing half-written: the valid setting from before is intact.
                try await client.execute(uri: "/v1/settings", method: .get, headers: admin) { response in
                    #expect(response.json["allowed_countries"] as? [String] == ["DE"])
                    #expect((response.json["verification"] as? [String: Any])?["ttl_seconds"] as? Int == 600)
                }
            }
        }
    }
}

extension HTTPFields {
    /// These headers plus a JSON content type.
    var json: HTTPFields {
        var copy = self
        copy[.contentType] = "application/json"
        return copy
    }
}
