import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SMS
import Testing
@testable import Herald

/// The audit log: every change through the API recorded with who, what, before and after,
/// never a secret; `GET /v1/audit` with its filters.
@Suite(.serialized) struct AuditTests {
    /// Signs in over HTTP; the session's headers for unsafe calls (cookie, CSRF token, JSON).
    static func signIn(_ client: any TestClientProtocol, _ email: String, _ password: String) async throws -> HTTPFields {
        try await client.execute(uri: "/auth/login", method: .post, headers: jsonHeaders,
                                 body: jsonBody(["email": email, "password": password])) { response in
            #expect(response.status == .ok)
            let cookie = String((response.headers[.setCookie] ?? "").split(separator: ";")[0])
            return [.cookie: cookie, .init("X-CSRF-Token")!: response.json["csrf_token"] as? String ?? ""] + jsonHeaders
        }
    }

    static func entries(_ client: any TestClientProtocol, _ query: String = "", headers: HTTPFields) async throws -> [[String: Any]] {
        try await client.execute(uri: "/v1/audit\(query)", method: .get, headers: headers) { response in
            #expect(response.status == .ok, "\(response.text)")
            return response.json["data"] as? [[String: Any]] ?? []
        }
    }

    @Test("a person's and an API key's changes are recorded with who, what, before and after — and no secret anywhere")
    func recordsChanges() async throws {
        try await TestHerald.with { herald in
            let password = "an admin password of length"
            let admin = try await herald.identity.createUser(email: "ops@example.com", role: .admin, password: password)
            let robot = try await herald.identity.createAPIKey(name: "ci-robot", scopes: ["campaigns"], createdBy: nil)
            let robotAuth: HTTPFields = [.authorization: "Bearer \(robot.secret)", .contentType: "application/json"]
            try await herald.test { client in
                let session = try await Self.signIn(client, "ops@example.com", password)
                func call(_ method: HTTPRequest.Method, _ uri: String, _ body: Any? = nil, as headers: HTTPFields? = nil) async throws -> TestResponse {
                    try await client.execute(uri: uri, method: method, headers: headers ?? session, body: body.map(jsonBody))
                }
                // A provider with a secret in its config.
                let provider = try await call(.post, "/v1/providers", ProviderHTTPTests.twilio)
                #expect(provider.status == .created)
                let providerID = try #require(provider.json["id"] as? String)
                #expect(try await call(.patch, "/v1/providers/\(providerID)", ["priority": 9, "config": ["auth_token": "another-secret-token"]]).status == .ok)
                // An API key: its secret is shown once and never recorded.
                let key = try await call(.post, "/v1/api-keys", ["name": "billing app", "scopes": ["messages"]])
                let keySecret = try #require(key.json["key"] as? String)
                let keyID = try #require(key.json["id"] as? String)
                #expect(try await call(.delete, "/v1/api-keys/\(keyID)").status == .noContent)
                // Settings: only what changed is kept.
                #expect(try await call(.patch, "/v1/settings", ["brand": "Acme", "quiet_hours": ["start": "22:00", "end": "07:00"]]).status == .ok)
                #expect(try await call(.patch, "/v1/settings", ["brand": "Acme"]).status == .ok, "no change: no entry")
                // A user's lifecycle and one's own password.
                let user = try await call(.post, "/v1/users", ["email": "mia@example.com", "role": "marketer", "password": "mias own long password"])
                let userID = try #require(user.json["id"] as? String)
                #expect(try await call(.patch, "/v1/users/\(userID)", ["role": "viewer"]).status == .ok)
                #expect(try await call(.patch, "/v1/users/\(userID)", ["role": "emperor"]).status == .badRequest, "refused: nothing recorded")
                #expect(try await call(.delete, "/v1/users/\(userID)").status == .noContent)
                let newPassword = "a brand new admin password"
                #expect(try await call(.post, "/auth/password", ["current_password": password, "new_password": newPassword]).status == .ok)
                // An API key's changes: a template and a campaign.
                let template = try await call(.post, "/v1/templates", ["name": "winter_sale", "channel": "sms", "kind": "marketing", "body": "Hi {{first_name}}"], as: robotAuth)
                #expect(template.status == .created, "\(template.text)")
                let templateID = try #require(template.json["id"] as? String)
                #expect(try await call(.patch, "/v1/templates/\(templateID)", ["body": "Hello {{first_name}}"], as: robotAuth).status == .ok)
                let campaign = try await call(.post, "/v1/campaigns", ["name": "Winter", "template_id": templateID], as: robotAuth)
                let campaignID = try #require(campaign.json["id"] as? String)
                #expect(try await call(.post, "/v1/campaigns/\(campaignID)/cancel", as: robotAuth).status == .ok)

                let all = try await Self.entries(client, "?limit=100", headers: session)
                let actions = all.reversed().map { $0["action"] as? String ?? "?" }
                #expect(actions == [
                    "provider.create", "provider.update", "api_key.create", "api_key.revoke", "settings.update",
                    "user.create", "user.update", "user.delete", "user.password_change",
                    "template.create", "template.update", "campaign.create", "campaign.cancel",
                ])
                func entry(_ action: String) -> [String: Any] { all.first { $0["action"] as? String == action } ?? [:] }
                func object(_ value: Any?) -> [String: Any] { value as? [String: Any] ?? [:] }

                let byAdmin = object(entry("provider.update")["actor"])
                #expect(byAdmin["type"] as? String == "user" && byAdmin["label"] as? String == "ops@example.com"
                        && byAdmin["id"] as? String == admin.id.uuidString.lowercased())
                let byRobot = object(entry("campaign.cancel")["actor"])
                #expect(byRobot["type"] as? String == "api_key" && byRobot["label"] as? String == "ci-robot")
                #expect(object(entry("campaign.cancel")["target"])["label"] as? String == "Winter")
                #expect(object(entry("campaign.cancel")["before"])["status"] as? String == "draft")
                #expect(object(entry("campaign.cancel")["after"])["status"] as? String == "canceled")
                #expect(entry("campaign.create")["before"] is NSNull)

                let providerUpdate = entry("provider.update")
                #expect(object(providerUpdate["before"])["priority"] as? Int == 5 && object(providerUpdate["after"])["priority"] as? Int == 9)
                #expect(object(providerUpdate["target"])["id"] as? String == providerID)
                #expect(object(object(providerUpdate["after"])["config"])["auth_token"] as? String == "[redacted]")

                let roleChange = entry("user.update")
                #expect(object(roleChange["before"])["role"] as? String == "marketer" && object(roleChange["after"])["role"] as? String == "viewer")
                #expect(object(entry("user.delete")["before"])["email"] as? String == "mia@example.com")
                #expect(object(entry("user.delete")["target"])["label"] as? String == "mia@example.com")

                let settings = entry("settings.update")
                #expect(Set(object(settings["after"]).keys) == ["brand", "quiet_hours"])
                #expect(object(settings["before"])["brand"] as? String == "Herald" && object(settings["after"])["brand"] as? String == "Acme")
                #expect(object(entry("template.update")["before"])["body"] as? String == "Hi {{first_name}}")
                #expect(object(entry("template.update")["after"])["body"] as? String == "Hello {{first_name}}")
                #expect(object(entry("api_key.create")["after"])["key"] == nil)
                #expect((entry("api_key.create")["ip"] as? String).map { !$0.isEmpty } == true)

                // Nothing secret anywhere in the stored log.
                let stored = try await herald.pool.query(
                    "SELECT coalesce(string_agg(coalesce(before::text, '') || coalesce(after::text, ''), ' '), '') AS text FROM audit_log")
                let text: String = try stored[0].decode("text")
                for secret in ["super-secret-token", "another-secret-token", keySecret, String(keySecret.prefix(20)), password,
                               newPassword, "mias own long password", robot.secret] {
                    #expect(!text.contains(secret), "a secret reached the audit log")
                }
            }
        }
    }

    @Test("GET /v1/audit filters by actor, action or family, target and time, pages with a cursor, refuses bad filters by name, and is for admins only")
    func filters() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            let marketer = try await herald.identity.createAPIKey(name: "Marketing Bot", scopes: ["campaigns"], createdBy: nil)
            let marketerAuth: HTTPFields = [.authorization: "Bearer \(marketer.secret)", .contentType: "application/json"]
            try await herald.test { client in
                func call(_ method: HTTPRequest.Method, _ uri: String, _ body: Any? = nil, as headers: HTTPFields) async throws -> TestResponse {
                    try await client.execute(uri: uri, method: method, headers: headers, body: body.map(jsonBody))
                }
                let start = Date()
                var templateIDs: [String] = []
                for index in 0..<3 {
                    let created = try await call(.post, "/v1/templates", ["name": "t\(index)", "channel": "sms", "kind": "transactional", "body": "Body \(index)"], as: marketerAuth)
                    templateIDs.append(try #require(created.json["id"] as? String))
                }
                #expect(try await call(.delete, "/v1/templates/\(templateIDs[0])", as: marketerAuth).status == .noContent)
                #expect(try await call(.patch, "/v1/settings", ["brand": "Filtered"], as: admin).status == .ok)

                func actions(_ query: String) async throws -> [String] {
                    try await Self.entries(client, query, headers: admin).map { $0["action"] as? String ?? "?" }
                }
                #expect(try await actions("").count == 5)
                #expect(try await actions("?action=template.delete") == ["template.delete"])
                #expect(try await actions("?action=template") == ["template.delete", "template.create", "template.create", "template.create"])
                #expect(try await actions("?actor=marketing%20bot").count == 4, "by name, any case")
                #expect(try await actions("?actor=\(marketer.key.id.uuidString)").count == 4, "by id")
                #expect(try await actions("?actor=nobody@example.com").isEmpty)
                #expect(try await actions("?target_type=template&target_id=\(templateIDs[0])") == ["template.delete", "template.create"])
                #expect(try await actions("?target_type=settings") == ["settings.update"])
                let since = ISO8601DateFormatter().string(from: start.addingTimeInterval(-60))
                #expect(try await actions("?after=\(since)").count == 5)
                let future = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
                #expect(try await actions("?after=\(future)").isEmpty)
                #expect(try await actions("?before=\(since)").isEmpty)

                // Pages: newest first, each entry once.
                var seen: [String] = []
                var cursor: String?
                repeat {
                    let page = try await call(.get, "/v1/audit?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), as: admin)
                    seen += (page.json["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                    cursor = page.json["next_cursor"] as? String
                } while cursor != nil
                #expect(seen.count == 5 && Set(seen).count == 5)

                // Bad filters are named; no entry is read or written.
                for (query, field) in [("action=Campaign.Pause", "action"), ("action=a.b.c", "action"), ("after=yesterday", "after"),
                                       ("before=2026-13-01T00:00:00Z", "before"), ("target_type=a-b", "target_type"),
                                       ("after=2026-12-02T00:00:00Z&before=2026-12-01T00:00:00Z", "before"), ("limit=0", "limit"),
                                       ("cursor=nonsense", "cursor"), ("actor=" + String(repeating: "a", count: 400), "actor"),
                                       ("actor=a%00b", "actor"), ("target_id=x%0Ay", "target_id")] {
                    let response = try await call(.get, "/v1/audit?\(query)", as: admin)
                    #expect(response.status == .badRequest && response.errorCode == "validation_failed" && response.errorField == field, "\(query)")
                }
                // Admins only.
                #expect(try await call(.get, "/v1/audit", as: marketerAuth).status == .forbidden)
                #expect(try await call(.get, "/v1/audit", as: jsonHeaders).status == .unauthorized)
            }
        }
    }

    @Test("redaction replaces every value under a key that names a secret, at any depth, and keeps the rest")
    func redaction() {
        let input: JSONValue = [
            "name": "Twilio", "priority": 5, "password": "p", "config": ["auth_token": "t", "from": "+15005550006", "api_key": "k",
                                                                       "client_secret": nil],
            "keys": [["key": "k1", "label": "first"], ["signing_secret": "s"]], "csrf": "c", "PrivateKey": "x", "author": "Mia",
        ]
        let expected: JSONValue = [
            "name": "Twilio", "priority": 5, "password": "[redacted]", "config": ["auth_token": "[redacted]", "from": "+15005550006",
                                                                                "api_key": "[redacted]", "client_secret": nil],
            "keys": [["key": "[redacted]", "label": "first"], ["signing_secret": "[redacted]"]], "csrf": "[redacted]",
            "PrivateKey": "[redacted]", "author": "Mia",
        ]
        #expect(AuditRedaction.redact(input) == expected)
        #expect(AuditRedaction.redact("plain") == "plain")
        #expect(AuditRedaction.redact([1, "two", nil]) == [1, "two", nil])
        for name in ["password", "new_password", "auth_token", "apiKey", "API_KEY", "key", "secret", "token", "credentials", "key_hash",
                     "code", "PrivateKey", "x-csrf-token", "webhookSecret"] {
            #expect(AuditRedaction.isSecret(name), "\(name)")
        }
        for name in ["name", "body", "from", "status", "priority", "keywords", "monkey_business", "email", "role", "author", "error_code",
                     "tokenizer", "keyboard"] {
            #expect(!AuditRedaction.isSecret(name), "\(name)")
        }
    }

    @Test("filter parsing: ids, names, families, instants with or without fractions")
    func filterParsing() throws {
        let id = UUID()
        #expect(try AuditFilter(actor: id.uuidString, action: nil, targetType: nil, targetID: nil, after: nil, before: nil).actor == .id(id))
        #expect(try AuditFilter(actor: " ops@example.com ", action: nil, targetType: nil, targetID: nil, after: nil, before: nil).actor
                == .label("ops@example.com"))
        #expect(try AuditFilter(actor: "", action: "campaign", targetType: nil, targetID: nil, after: "", before: nil).action == .family("campaign"))
        #expect(try AuditFilter(actor: nil, action: "api_key.revoke", targetType: nil, targetID: nil, after: nil, before: nil).action
                == .exact("api_key.revoke"))
        let fractional = try AuditFilter(actor: nil, action: nil, targetType: nil, targetID: nil, after: "2026-12-01T09:00:00.250Z", before: nil)
        #expect(fractional.after == Date(timeIntervalSince1970: 1_796_115_600.25))
        #expect(throws: HeraldError.self) {
            try AuditFilter(actor: nil, action: "campaign.", targetType: nil, targetID: nil, after: nil, before: nil)
        }
        #expect(throws: HeraldError.self) {
            try AuditFilter(actor: nil, action: nil, targetType: nil, targetID: nil, after: "2026-12-01", before: nil)
        }
    }
}
