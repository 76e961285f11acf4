import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite("API keys, users and dashboard sessions over HTTP")
struct IdentityHTTPTests {
    @Test("an admin key lists keys; no key is 401; a key without the scope is 403; a revoked key is 401")
    func apiKeyLifecycle() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            let messagesOnly = try await herald.bearer(["messages"])
            try await herald.test { client in
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: admin) { response in
                    #expect(response.status == .ok)
                    let data = response.json["data"] as? [[String: Any]]
                    #expect(data?.count == 2)
                    #expect(data?.allSatisfy { $0["key"] == nil } == true, "secrets are never listed")
                    #expect(response.json.keys.contains("next_cursor"))
                }
                try await client.execute(uri: "/v1/api-keys", method: .get) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.errorCode == "unauthorized")
                }
                for bad in ["Bearer hk_nope", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer " + String(repeating: "x", count: 5000)] {
                    try await client.execute(uri: "/v1/api-keys", method: .get, headers: [.authorization: bad]) { response in
                        #expect(response.status == .unauthorized)
                    }
                }
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: messagesOnly) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorCode == "forbidden")
                }

                // Create a key, use it, revoke it.
                let created = try await client.execute(
                    uri: "/v1/api-keys", method: .post, headers: admin + jsonHeaders,
                    body: jsonBody(["name": "ci", "scopes": ["admin", "messages", "admin"]])
                ) { response in
                    #expect(response.status == .created)
                    #expect(response.json["scopes"] as? [String] == ["messages", "admin"])
                    return (id: response.json["id"] as! String, key: response.json["key"] as! String)
                }
                #expect(created.key.hasPrefix("hk_") && created.key.count == 43)
                let newKey: HTTPFields = [.authorization: "Bearer \(created.key)"]
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: newKey) { response in
                    #expect(response.status == .ok)
                }
                try await client.execute(uri: "/auth/me", method: .get, headers: newKey) { response in
                    #expect((response.json["api_key"] as? [String: Any])?["name"] as? String == "ci")
                }
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: admin) { response in
                    let listed = (response.json["data"] as? [[String: Any]])?.first { $0["id"] as? String == created.id }
                    #expect(listed?["last_used_at"] is String, "using a key records when")
                    #expect(listed?["prefix"] as? String == String(created.key.prefix(11)))
                }
                try await client.execute(uri: "/v1/api-keys/\(created.id)", method: .delete, headers: messagesOnly) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/v1/api-keys/\(created.id)", method: .delete, headers: admin) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: newKey) { response in
                    #expect(response.status == .unauthorized)
                }
                try await client.execute(uri: "/v1/api-keys/\(created.id)", method: .delete, headers: admin) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/v1/api-keys/not-a-uuid", method: .delete, headers: admin) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }

    @Test("lists page with an opaque cursor, newest first, without repeats or gaps")
    func pagination() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer()
            for index in 0..<7 { _ = try await herald.identity.createAPIKey(name: "k\(index)", scopes: ["messages"], createdBy: nil) }
            try await herald.test { client in
                var seen: [String] = []
                var cursor: String? = nil
                repeat {
                    let uri = "/v1/api-keys?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                    cursor = try await client.execute(uri: uri, method: .get, headers: admin) { response in
                        #expect(response.status == .ok)
                        let data = response.json["data"] as! [[String: Any]]
                        #expect(data.count <= 3)
                        seen += data.map { $0["id"] as! String }
                        return response.json["next_cursor"] as? String
                    }
                } while cursor != nil
                #expect(seen.count == 8)
                #expect(Set(seen).count == 8)
            }
        }
    }

    @Test("users: create, duplicate e-mail is 409, bad role names the field")
    func users() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer()
            try await herald.test { client in
                try await client.execute(
                    uri: "/v1/users", method: .post, headers: admin + jsonHeaders,
                    body: jsonBody(["email": "Mia@Example.com", "role": "marketer"])
                ) { response in
                    #expect(response.status == .created)
                    #expect(response.json["email"] as? String == "mia@example.com")
                    #expect((response.json["password"] as? String)?.count == 20, "a generated password is shown once")
                }
                try await client.execute(
                    uri: "/v1/users", method: .post, headers: admin + jsonHeaders,
                    body: jsonBody(["email": "MIA@example.com", "role": "viewer", "password": "correct horse battery"])
                ) { response in
                    #expect(response.status == .conflict)
                    #expect(response.errorCode == "already_exists")
                }
                let invalid: [([String: Any], String)] = [
                    (["email": "x@y.z", "role": "root"], "role"),
                    (["email": "not-an-email", "role": "viewer"], "email"),
                    (["email": "a@b.c", "role": "viewer", "password": "short"], "password"),
                    (["email": "a@b.c", "role": "viewer", "password": String(repeating: "é", count: 40)], "password"),
                ]
                for (body, field) in invalid {
                    try await client.execute(uri: "/v1/users", method: .post, headers: admin + jsonHeaders, body: jsonBody(body)) { response in
                        #expect(response.status == .badRequest)
                        #expect(response.errorField == field)
                    }
                }
                try await client.execute(uri: "/v1/users", method: .get, headers: admin) { response in
                    #expect((response.json["data"] as? [[String: Any]])?.count == 1)
                }
            }
        }
    }

    @Test("dashboard login sets an HttpOnly SameSite=Strict cookie; unsafe methods need the CSRF token")
    func sessions() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                let (cookie, csrf) = try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "OPS@example.com", "password": "a long enough password"])
                ) { response in
                    #expect(response.status == .ok)
                    let setCookie = response.headers[.setCookie] ?? ""
                    #expect(setCookie.contains("HttpOnly"))
                    #expect(setCookie.contains("SameSite=Strict"))
                    #expect(setCookie.contains("Path=/"))
                    let pair = setCookie.split(separator: ";")[0]
                    return (String(pair), response.json["csrf_token"] as! String)
                }
                let session: HTTPFields = [.cookie: cookie]
                try await client.execute(uri: "/auth/me", method: .get, headers: session) { response in
                    #expect(response.status == .ok)
                    #expect((response.json["user"] as? [String: Any])?["email"] as? String == "ops@example.com")
                }
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: session) { response in
                    #expect(response.status == .ok)
                }
                let create = jsonBody(["name": "from dashboard", "scopes": ["messages"]])
                try await client.execute(uri: "/v1/api-keys", method: .post, headers: session + jsonHeaders, body: create) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorCode == "csrf_failed")
                }
                try await client.execute(
                    uri: "/v1/api-keys", method: .post, headers: session + jsonHeaders + [.init("X-CSRF-Token")!: "wrong"], body: create
                ) { response in
                    #expect(response.errorCode == "csrf_failed")
                }
                try await client.execute(
                    uri: "/v1/api-keys", method: .post, headers: session + jsonHeaders + [.init("X-CSRF-Token")!: csrf], body: create
                ) { response in
                    #expect(response.status == .created)
                }
                try await client.execute(uri: "/auth/logout", method: .post, headers: session + [.init("X-CSRF-Token")!: csrf]) { response in
                    #expect(response.status == .noContent)
                    #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
                }
                try await client.execute(uri: "/auth/me", method: .get, headers: session) { response in
                    #expect(response.status == .unauthorized)
                }
            }
        }
    }

    @Test("a viewer may look but not change; a marketer has no admin scope")
    func roles() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.identity.createUser(email: "view@example.com", role: .viewer, password: "a long enough password")
            _ = try await herald.identity.createUser(email: "mark@example.com", role: .marketer, password: "a long enough password")
            try await herald.test { client in
                for email in ["view@example.com", "mark@example.com"] {
                    let (cookie, csrf) = try await client.execute(
                        uri: "/auth/login", method: .post, headers: jsonHeaders,
                        body: jsonBody(["email": email, "password": "a long enough password"])
                    ) { response in
                        (String((response.headers[.setCookie] ?? "").split(separator: ";")[0]), response.json["csrf_token"] as! String)
                    }
                    try await client.execute(uri: "/v1/api-keys", method: .get, headers: [.cookie: cookie]) { response in
                        #expect(response.status == .forbidden, "\(email)")
                    }
                    try await client.execute(
                        uri: "/v1/users", method: .post, headers: [.cookie: cookie, .init("X-CSRF-Token")!: csrf] + jsonHeaders,
                        body: jsonBody(["email": "z@example.com", "role": "admin"])
                    ) { response in
                        #expect(response.status == .forbidden, "\(email)")
                    }
                }
            }
        }
    }

    @Test("wrong passwords are 401, and repeated attempts are rate limited per account and address with Retry-After")
    func loginThrottle() async throws {
        var limits = IdentityService.Limits()
        limits.perAccountAndAddress = RateLimit(3, per: .seconds(900))
        limits.perAddress = RateLimit(100, per: .seconds(900))
        try await TestHerald.with(limits: limits) { herald in
            _ = try await herald.identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                for _ in 0..<3 {
                    try await client.execute(
                        uri: "/auth/login", method: .post, headers: jsonHeaders,
                        body: jsonBody(["email": "ops@example.com", "password": "wrong password!"])
                    ) { response in
                        #expect(response.status == .unauthorized)
                        #expect(response.errorCode == "invalid_credentials")
                    }
                }
                // Even the right password is refused now, before it is checked.
                try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "ops@example.com", "password": "a long enough password"])
                ) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(response.errorCode == "rate_limited")
                    #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0)
                }
                // Unknown accounts answer exactly like wrong passwords.
                try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "nobody@example.com", "password": "whatever it is"])
                ) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.errorCode == "invalid_credentials")
                }
            }
        }
    }

    @Test("attempts are also limited per client IP, across accounts")
    func ipThrottle() async throws {
        var limits = IdentityService.Limits()
        limits.perAddress = RateLimit(4, per: .seconds(900))
        try await TestHerald.with(limits: limits) { herald in
            for index in 0..<4 {
                await #expect(throws: HeraldError.self) {
                    try await herald.identity.login(email: "user\(index)@example.com", password: "nope nope nope", clientIP: "203.0.113.9")
                }
            }
            do {
                _ = try await herald.identity.login(email: "other@example.com", password: "nope nope nope", clientIP: "203.0.113.9")
                Issue.record("expected the IP limit")
            } catch let error as HeraldError {
                #expect(error.code == .rateLimited)
            }
            // Another address is unaffected.
            await #expect(throws: HeraldError(.invalidCredentials, "e-mail or password is wrong")) {
                try await herald.identity.login(email: "other@example.com", password: "nope nope nope", clientIP: "198.51.100.1")
            }
        }
    }

    @Test("the first admin is created once, even by processes starting together")
    func firstAdmin() async throws {
        try await TestHerald.with { herald in
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 { group.addTask { try await herald.identity.bootstrapFirstAdmin() != nil } }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
            #expect(try await herald.identity.bootstrapFirstAdmin() == nil)
            let page = try await herald.identity.users(limit: 10, cursor: nil)
            #expect(page.items.map(\.email) == ["admin@localhost"])
            #expect(page.items.first?.role == .admin)
        }
    }
}

@Suite("Identity housekeeping")
struct IdentityHousekeepingTests {
    @Test("expired sessions stop working and are purged; live ones stay")
    func purge() async throws {
        try await TestHerald.with { herald in
            let user = try await herald.identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            let store = IdentityStore(pool: herald.pool)
            let expired = Tokens.digest("expired-token")
            let live = Tokens.digest("live-token")
            _ = try await store.insertSession(userID: user.id, tokenHash: expired, csrfToken: "c1", lifetime: .seconds(0))
            _ = try await store.insertSession(userID: user.id, tokenHash: live, csrfToken: "c2", lifetime: .seconds(3600))
            #expect(try await herald.identity.session(token: "expired-token") == nil)
            #expect(try await herald.identity.session(token: "live-token")?.user.id == user.id)
            try await herald.identity.purgeExpired()
            let left = try await herald.pool.query("SELECT count(*) AS n FROM sessions")
            #expect(try left[0].decode("n", as: Int.self) == 1)
        }
    }
}
