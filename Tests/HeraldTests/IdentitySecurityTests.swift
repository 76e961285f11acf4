import Foundation
import Herald
import HeraldHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// Regression tests for the identity hardening: each one failed before it (login throttling
/// counted after bcrypt, no user lifecycle, no forced first password change, one cookie name).
/// They use only the API that existed before, so they can be run against the old code too.
@Suite("Identity security regressions")
struct IdentitySecurityTests {
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    /// Signs in over HTTP; returns the cookie pair, the CSRF token and the body.
    static func login(
        _ client: some TestClientProtocol, _ email: String, _ password: String
    ) async throws -> (cookie: String, csrf: String, body: [String: Any]) {
        try await client.execute(
            uri: "/auth/login", method: .post, headers: jsonHeaders, body: jsonBody(["email": email, "password": password])
        ) { response in
            #expect(response.status == .ok, "\(response.text)")
            let pair = String((response.headers[.setCookie] ?? "").split(separator: ";").first ?? "")
            return (pair, response.json["csrf_token"] as? String ?? "", response.json)
        }
    }

    static func userID(_ client: some TestClientProtocol, _ email: String, auth: HTTPFields) async throws -> String {
        try await client.execute(uri: "/v1/users", method: .get, headers: auth) { response in
            let data = response.json["data"] as? [[String: Any]] ?? []
            return data.first { $0["email"] as? String == email }?["id"] as? String ?? ""
        }
    }

    // MARK: A. Login throttling under a burst

    @Test("200 parallel wrong logins from one address: at most 5 are checked, the rest refused with Retry-After; the admin still signs in from another address")
    func parallelGuessesAreCountedBeforeTheCheck() async throws {
        try await heavy { try await TestHerald.with { herald in
            let identity = herald.identity
            _ = try await identity.createUser(email: "admin@example.com", role: .admin, password: "the right password!")
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for attempt in 0..<200 {
                    group.addTask {
                        do {
                            _ = try await identity.login(email: "admin@example.com", password: "wrong guess \(attempt)", clientIP: "203.0.113.66")
                            return "signed in"
                        } catch let error as HeraldError {
                            return error.code.rawValue + (error.retryAfter.map { $0 > 0 ? " with retry-after" : "" } ?? "")
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let checked = outcomes.filter { $0 == "invalid_credentials" }.count
            #expect(checked <= 5, "only the pair limit's worth of guesses reach bcrypt; got \(checked)")
            #expect(outcomes.filter { $0 == "rate_limited with retry-after" }.count == 200 - checked)
            // The stranger at 203.0.113.66 has not locked the account for everyone.
            let session = try await identity.login(email: "admin@example.com", password: "the right password!", clientIP: "198.51.100.7")
            #expect(session.session.user.email == "admin@example.com")
        } }
    }

    @Test("password checks beyond a small queue are refused at once (server_busy with Retry-After) instead of piling up")
    func passwordChecksAreBounded() async throws {
        try await TestHerald.with { herald in
            // Unknown accounts are checked against a cost-11 decoy: ~0.1–0.2 s of CPU each.
            let identity = IdentityService(store: IdentityStore(pool: herald.pool), hasher: PasswordHasher(cost: 4), logger: testLogger)
            let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        do {
                            _ = try await identity.login(
                                email: "nobody\(index)@example.com", password: "some password", clientIP: "192.0.2.\(index + 1)")
                            return "signed in"
                        } catch let error as HeraldError {
                            return error.code.rawValue + (error.retryAfter == nil ? "" : " with retry-after")
                        }
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            let busy = outcomes.filter { $0 == "server_busy with retry-after" }.count
            let checked = outcomes.filter { $0 == "invalid_credentials" }.count
            #expect(busy > 0, "60 simultaneous bcrypt checks must not all be queued")
            #expect(checked >= 2)
            #expect(busy + checked == 60, "\(Set(outcomes))")
        }
    }

    @Test("a login with a NUL byte in the e-mail is a wrong login (401), not a database error (500)")
    func hostileEmail() async throws {
        try await TestHerald.with { herald in
            try await herald.test { client in
                for email in ["a\u{0}@example.com", "\u{0}", "admin@localhost\u{0}"] {
                    try await client.execute(
                        uri: "/auth/login", method: .post, headers: jsonHeaders, body: jsonBody(["email": email, "password": "whatever it is"])
                    ) { response in
                        #expect(response.status == .unauthorized)
                        #expect(response.errorCode == "invalid_credentials")
                    }
                }
            }
        }
    }

    // MARK: B. User lifecycle

    @Test("disabling a user ends its sessions and its API keys at once; enabling does not bring them back")
    func disablingEndsSessionsAndKeys() async throws {
        try await TestHerald.with { herald in
            let root = try await herald.bearer()
            _ = try await herald.identity.createUser(email: "boss@example.com", role: .admin, password: "a long enough password")
            _ = try await herald.identity.createUser(email: "second@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                let (cookie, csrf, _) = try await Self.login(client, "second@example.com", "a long enough password")
                let session: HTTPFields = [.cookie: cookie, Self.csrfHeader: csrf]
                let key = try await client.execute(
                    uri: "/v1/api-keys", method: .post, headers: session + jsonHeaders,
                    body: jsonBody(["name": "made by second", "scopes": ["admin"]])
                ) { response in
                    #expect(response.status == .created)
                    return response.json["key"] as? String ?? ""
                }
                let keyAuth: HTTPFields = [.authorization: "Bearer \(key)"]
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: keyAuth) { #expect($0.status == .ok) }
                try await client.execute(uri: "/auth/me", method: .get, headers: session) { #expect($0.status == .ok) }

                let id = try await Self.userID(client, "second@example.com", auth: root)
                try await client.execute(
                    uri: "/v1/users/\(id)", method: .patch, headers: root + jsonHeaders, body: jsonBody(["disabled": true])
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["disabled"] as? Bool == true)
                }
                try await client.execute(uri: "/auth/me", method: .get, headers: session) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: keyAuth) { #expect($0.status == .unauthorized) }
                try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "second@example.com", "password": "a long enough password"])
                ) { #expect($0.status == .unauthorized, "a disabled user cannot sign in") }

                try await client.execute(
                    uri: "/v1/users/\(id)", method: .patch, headers: root + jsonHeaders, body: jsonBody(["disabled": false])
                ) { #expect($0.status == .ok) }
                try await client.execute(uri: "/auth/me", method: .get, headers: session) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: keyAuth) { #expect($0.status == .unauthorized) }
                _ = try await Self.login(client, "second@example.com", "a long enough password")
            }
        }
    }

    @Test("deleting a user revokes the API keys it created and ends its sessions")
    func deletingRevokesKeys() async throws {
        try await TestHerald.with { herald in
            let root = try await herald.bearer()
            _ = try await herald.identity.createUser(email: "boss@example.com", role: .admin, password: "a long enough password")
            _ = try await herald.identity.createUser(email: "leaver@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                let (cookie, csrf, _) = try await Self.login(client, "leaver@example.com", "a long enough password")
                let session: HTTPFields = [.cookie: cookie, Self.csrfHeader: csrf]
                let key = try await client.execute(
                    uri: "/v1/api-keys", method: .post, headers: session + jsonHeaders,
                    body: jsonBody(["name": "integration", "scopes": ["messages"]])
                ) { $0.json["key"] as? String ?? "" }
                let id = try await Self.userID(client, "leaver@example.com", auth: root)
                try await client.execute(uri: "/v1/users/\(id)", method: .delete, headers: root) { #expect($0.status == .noContent) }
                try await client.execute(uri: "/auth/me", method: .get, headers: [.authorization: "Bearer \(key)"]) {
                    #expect($0.status == .unauthorized, "a deleted user's key must not live on as an ownerless key")
                }
                try await client.execute(uri: "/auth/me", method: .get, headers: session) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/v1/users/\(id)", method: .delete, headers: root) { #expect($0.status == .notFound) }
                #expect(try await Self.userID(client, "leaver@example.com", auth: root).isEmpty)
            }
        }
    }

    @Test("the last enabled admin cannot disable, delete or demote itself (409 last_admin); with a second admin it can")
    func lastAdminStays() async throws {
        try await TestHerald.with { herald in
            let root = try await herald.bearer()
            _ = try await herald.identity.createUser(email: "only@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                let (cookie, csrf, _) = try await Self.login(client, "only@example.com", "a long enough password")
                let session: HTTPFields = [.cookie: cookie, Self.csrfHeader: csrf]
                let id = try await Self.userID(client, "only@example.com", auth: root)
                for change in [["disabled": true], ["role": "marketer"], ["role": "viewer", "disabled": false]] as [[String: Any]] {
                    try await client.execute(
                        uri: "/v1/users/\(id)", method: .patch, headers: session + jsonHeaders, body: jsonBody(change)
                    ) { response in
                        #expect(response.status == .conflict, "\(change)")
                        #expect(response.errorCode == "last_admin")
                    }
                }
                try await client.execute(uri: "/v1/users/\(id)", method: .delete, headers: session) { response in
                    #expect(response.status == .conflict)
                    #expect(response.errorCode == "last_admin")
                }
                // Not through an API key either.
                try await client.execute(
                    uri: "/v1/users/\(id)", method: .patch, headers: root + jsonHeaders, body: jsonBody(["disabled": true])
                ) { #expect($0.errorCode == "last_admin") }

                try await client.execute(
                    uri: "/v1/users", method: .post, headers: session + jsonHeaders,
                    body: jsonBody(["email": "deputy@example.com", "role": "admin", "password": "another long password"])
                ) { #expect($0.status == .created) }
                try await client.execute(
                    uri: "/v1/users/\(id)", method: .patch, headers: session + jsonHeaders, body: jsonBody(["role": "marketer"])
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["role"] as? String == "marketer")
                }
                // Demoted: the same session lost admin at once.
                try await client.execute(uri: "/v1/users", method: .get, headers: session) { #expect($0.status == .forbidden) }
            }
        }
    }

    @Test("the first admin must choose a new password at the first login; until then only /auth/password, /auth/me and /auth/logout work")
    func firstLoginForcesPasswordChange() async throws {
        try await TestHerald.with { herald in
            let first = try #require(try await herald.identity.bootstrapFirstAdmin())
            try await herald.test { client in
                let (cookie, csrf, body) = try await Self.login(client, "admin@localhost", first.password)
                #expect(body["password_change_required"] as? Bool == true)
                let session: HTTPFields = [.cookie: cookie, Self.csrfHeader: csrf]
                try await client.execute(uri: "/v1/users", method: .get, headers: session) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorCode == "password_change_required")
                }
                try await client.execute(
                    uri: "/v1/api-keys", method: .post, headers: session + jsonHeaders, body: jsonBody(["name": "k", "scopes": ["admin"]])
                ) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorCode == "password_change_required")
                }
                try await client.execute(uri: "/auth/me", method: .get, headers: session) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["password_change_required"] as? Bool == true)
                }
                let other = try await Self.login(client, "admin@localhost", first.password)

                try await client.execute(
                    uri: "/auth/password", method: .post, headers: session + jsonHeaders,
                    body: jsonBody(["current_password": "not the password", "new_password": "my own long password"])
                ) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.errorCode == "invalid_current_password")
                    #expect(response.errorField == "current_password")
                }
                try await client.execute(
                    uri: "/auth/password", method: .post, headers: session + jsonHeaders,
                    body: jsonBody(["current_password": first.password, "new_password": first.password])
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorField == "new_password")
                }
                try await client.execute(
                    uri: "/auth/password", method: .post, headers: session + jsonHeaders,
                    body: jsonBody(["current_password": first.password, "new_password": "my own long password"])
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["password_change_required"] as? Bool == false)
                }
                // This session goes on, with everything open; the other one has ended.
                try await client.execute(uri: "/v1/users", method: .get, headers: session) { #expect($0.status == .ok) }
                try await client.execute(uri: "/auth/me", method: .get, headers: [.cookie: other.cookie]) { #expect($0.status == .unauthorized) }
                try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "admin@localhost", "password": first.password])
                ) { #expect($0.status == .unauthorized) }
                let fresh = try await Self.login(client, "admin@localhost", "my own long password")
                #expect(fresh.body["password_change_required"] as? Bool == false)
            }
        }
    }

    @Test("wrong current passwords are counted like failed logins: past the limit even the right one is 429")
    func passwordChangeIsThrottled() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.identity.createUser(email: "ops@example.com", role: .viewer, password: "a long enough password")
            try await herald.test { client in
                let (cookie, csrf, _) = try await Self.login(client, "ops@example.com", "a long enough password")
                let session: HTTPFields = [.cookie: cookie, Self.csrfHeader: csrf]
                for attempt in 0..<5 {
                    try await client.execute(
                        uri: "/auth/password", method: .post, headers: session + jsonHeaders,
                        body: jsonBody(["current_password": "guess number \(attempt)", "new_password": "a brand new password"])
                    ) { #expect($0.errorCode == "invalid_current_password") }
                }
                try await client.execute(
                    uri: "/auth/password", method: .post, headers: session + jsonHeaders,
                    body: jsonBody(["current_password": "a long enough password", "new_password": "a brand new password"])
                ) { response in
                    #expect(response.status == .tooManyRequests)
                    #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 > 0)
                }
            }
        }
    }

    @Test("the first password lives in a 0600 file in a 0700 data directory, and is gone once changed")
    func firstLoginFile() async throws {
        try await TestHerald.with { herald in
            let fresh = "/tmp/herald-first-\(UUID().uuidString.prefix(8))"
            let existing = "/tmp/herald-first-\(UUID().uuidString.prefix(8))"
            defer {
                try? FileManager.default.removeItem(atPath: fresh)
                try? FileManager.default.removeItem(atPath: existing)
            }
            // An existing, world-readable directory with a stale, world-readable password file.
            try FileManager.default.createDirectory(atPath: existing, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
            #expect(FileManager.default.createFile(atPath: existing + "/initial-admin-password", contents: Data("stale".utf8),
                                                   attributes: [.posixPermissions: 0o644]))
            func mode(_ path: String) throws -> Int {
                let attributes = try FileManager.default.attributesOfItem(atPath: path)
                return try #require(attributes[.posixPermissions] as? Int)
            }

            let first = try #require(try await FirstLogin.ensure(identity: herald.identity, dataDirectory: existing))
            #expect(try mode(existing) == 0o700)
            #expect(try mode(existing + "/initial-admin-password") == 0o600)
            #expect(try String(contentsOfFile: existing + "/initial-admin-password", encoding: .utf8) == first.password)
            let again = try await FirstLogin.ensure(identity: herald.identity, dataDirectory: existing)
            #expect(again?.password == first.password, "shown on every start until changed")

            // A data directory Herald creates itself is private from the start.
            try await TestHerald.with { other in
                let created = try await FirstLogin.ensure(identity: other.identity, dataDirectory: fresh)
                #expect(created != nil)
                #expect(try mode(fresh) == 0o700)
                #expect(try mode(fresh + "/initial-admin-password") == 0o600)
            }

            try await herald.test { client in
                let (cookie, csrf, _) = try await Self.login(client, "admin@localhost", first.password)
                try await client.execute(
                    uri: "/auth/password", method: .post, headers: [.cookie: cookie, Self.csrfHeader: csrf] + jsonHeaders,
                    body: jsonBody(["current_password": first.password, "new_password": "my own long password"])
                ) { #expect($0.status == .ok) }
            }
            #expect(!FileManager.default.fileExists(atPath: existing + "/initial-admin-password"), "deleted when the password changes")
            #expect(try await FirstLogin.ensure(identity: herald.identity, dataDirectory: existing) == nil, "no longer printed")
        }
    }

    // MARK: C. Cookies

    @Test("with an https public URL the session cookie is __Host-herald_session (Secure, Path=/, no Domain) and responses carry HSTS")
    func hostPrefixedCookieOverHTTPS() async throws {
        try await TestHerald.with(publicURL: "https://herald.example.com") { herald in
            _ = try await herald.identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                let (cookie, csrf) = try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "ops@example.com", "password": "a long enough password"])
                ) { response in
                    #expect(response.status == .ok)
                    let setCookie = response.headers[.setCookie] ?? ""
                    #expect(setCookie.hasPrefix("__Host-herald_session="))
                    #expect(setCookie.contains("Secure"))
                    #expect(setCookie.contains("Path=/"))
                    #expect(!setCookie.lowercased().contains("domain="))
                    #expect(response.headers[HTTPField.Name("Strict-Transport-Security")!]?.hasPrefix("max-age=") == true)
                    return (String(setCookie.split(separator: ";")[0]), response.json["csrf_token"] as? String ?? "")
                }
                try await client.execute(uri: "/auth/me", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .ok) }
                let token = cookie.split(separator: "=", maxSplits: 1)[1]
                try await client.execute(uri: "/auth/me", method: .get, headers: [.cookie: "herald_session=\(token)"]) {
                    #expect($0.status == .unauthorized, "over https only the __Host- name is read")
                }
                try await client.execute(uri: "/", method: .get) { response in
                    #expect(response.headers[HTTPField.Name("Strict-Transport-Security")!] != nil, "the dashboard page too")
                }
                try await client.execute(uri: "/auth/logout", method: .post, headers: [.cookie: cookie, Self.csrfHeader: csrf]) { response in
                    let cleared = response.headers[.setCookie] ?? ""
                    #expect(cleared.hasPrefix("__Host-herald_session="))
                    #expect(cleared.contains("Max-Age=0") && cleared.contains("Secure"))
                }
            }
        }
    }

    @Test("with an http public URL the cookie keeps its plain name, without Secure, and there is no HSTS")
    func plainCookieOverHTTP() async throws {
        try await TestHerald.with(publicURL: "http://127.0.0.1:8080") { herald in
            _ = try await herald.identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "ops@example.com", "password": "a long enough password"])
                ) { response in
                    let setCookie = response.headers[.setCookie] ?? ""
                    #expect(setCookie.hasPrefix("herald_session="))
                    #expect(!setCookie.contains("Secure"))
                    #expect(response.headers[HTTPField.Name("Strict-Transport-Security")!] == nil)
                }
            }
        }
    }
}
