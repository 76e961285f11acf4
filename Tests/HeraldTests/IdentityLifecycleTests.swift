import Foundation
import Herald
import HeraldHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@Suite("Rate limits in PostgreSQL")
struct RateLimitStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("100 concurrent hits on one key with a limit of 10: exactly 10 are allowed")
    func atomic() async throws {
        try await TestHerald.with { herald in
            let store = RateLimitStore(pool: herald.pool)
            let now = t0
            let decisions = try await withThrowingTaskGroup(of: RateLimitDecision.self) { group in
                for _ in 0..<100 { group.addTask { try await store.hit("burst", limit: 10, window: .seconds(60), now: now) } }
                return try await group.reduce(into: [RateLimitDecision]()) { $0.append($1) }
            }
            #expect(decisions.filter(\.isAllowed).count == 10)
            #expect(decisions.filter { $0 == .denied(retryAfter: 60) }.count == 90)
        }
    }

    @Test("several keys in one statement: each decided as alone; overlapping keys in any order never deadlock; peeked counters read, not hit")
    func several() async throws {
        try await TestHerald.with { herald in
            let store = RateLimitStore(pool: herald.pool)
            let now = t0
            // 200 concurrent calls over three shared keys given in rotating orders.
            let keys = ["country", "prefix", "number"]
            let results = try await withThrowingTaskGroup(of: [RateLimitDecision].self) { group in
                for n in 0..<200 {
                    let rotated = Array(keys[(n % 3)...] + keys[..<(n % 3)])
                    group.addTask {
                        try await store.hit(rotated.map { (key: $0, limit: $0 == "country" ? 1000 : 50, window: Duration.seconds(60)) },
                                            now: now).decisions
                    }
                }
                return try await group.reduce(into: [[RateLimitDecision]]()) { $0.append($1) }
            }
            #expect(results.count == 200)
            let counts = try await herald.pool.query("SELECT key, hits FROM rate_limits ORDER BY key")
            let hits = try Dictionary(uniqueKeysWithValues: counts.map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int.self)) })
            #expect(hits == ["country": 200, "number": 200, "prefix": 200])
            // Per key, exactly its limit allowed.
            #expect(results.filter { $0.allSatisfy(\.isAllowed) }.count == 50)
            let peeked = try await store.hit([(key: "other", limit: 5, window: .seconds(60))], peek: ["prefix", "missing"], now: now)
            #expect(peeked.decisions == [.allowed(remaining: 4)])
            #expect(peeked.peeked == ["prefix": 200, "missing": 0])
            let again = try await herald.pool.query("SELECT hits FROM rate_limits WHERE key = 'prefix'")
            #expect(try again[0].decode(0, as: Int.self) == 200, "a peek does not count")
        }
    }

    @Test("a window starts at the first hit, denies until it ends without being extended, then starts again")
    func window() async throws {
        try await TestHerald.with { herald in
            let store = RateLimitStore(pool: herald.pool)
            let start = t0
            func hit(_ key: String = "k", at seconds: TimeInterval) async throws -> RateLimitDecision {
                try await store.hit(key, limit: 2, window: .seconds(60), now: start + seconds)
            }
            let first = try await hit(at: 0)
            #expect(first == .allowed(remaining: 1))
            #expect(try await hit(at: 10) == .allowed(remaining: 0))
            #expect(try await hit(at: 20) == .denied(retryAfter: 40))
            #expect(try await hit(at: 59.5) == .denied(retryAfter: 1))
            #expect(try await hit(at: 60) == .allowed(remaining: 1))
            #expect(try await hit("other", at: 60) == .allowed(remaining: 1))
        }
    }

    @Test("reset forgets one key, reset(keysStartingWith:) a family, purge only ended windows")
    func resetAndPurge() async throws {
        try await TestHerald.with { herald in
            let store = RateLimitStore(pool: herald.pool)
            for key in ["a:1", "a:2", "a%", "b:1"] { _ = try await store.hit(key, limit: 1, window: .seconds(60), now: t0) }
            _ = try await store.hit("long", limit: 1, window: .seconds(3600), now: t0)
            try await store.reset("b:1")
            #expect(try await store.hit("b:1", limit: 1, window: .seconds(60), now: t0).isAllowed)
            try await store.reset(keysStartingWith: "a:")
            #expect(try await store.hit("a:2", limit: 1, window: .seconds(60), now: t0).isAllowed)
            #expect(try await store.hit("a%", limit: 1, window: .seconds(60), now: t0) == .denied(retryAfter: 60), "no LIKE wildcards")
            #expect(try await store.purge(before: t0 + 120) == 3)
            #expect(try await store.hit("long", limit: 1, window: .seconds(3600), now: t0 + 120) == .denied(retryAfter: 3480))
        }
    }
}

@Suite("Concurrency limiter and client addresses")
struct IdentityUnitTests {
    @Test("at most maxRunning bodies at once, maxWaiting in line, the rest refused; cancelled waiters leave the line")
    func limiter() async throws {
        let limiter = ConcurrencyLimiter(maxRunning: 2, maxWaiting: 2)
        let (gate, opener) = AsyncStream<Void>.makeStream()
        let released = Gate(gate)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<4 {
                group.addTask { try await limiter.run { await released.wait(); return true } }
            }
            while limiter.load != (2, 2) { try await Task.sleep(for: .milliseconds(5)) }
            await #expect(throws: ConcurrencyLimiter.Full.self) { try await limiter.run { true } }
            #expect(limiter.load == (2, 2), "refused, not queued")
            opener.finish()
            var finished = 0
            for try await ok in group where ok { finished += 1 }
            #expect(finished == 4)
        }
        #expect(limiter.load == (0, 0))

        let waiting = ConcurrencyLimiter(maxRunning: 1, maxWaiting: 1)
        let (hold, release) = AsyncStream<Void>.makeStream()
        let holder = Gate(hold)
        let running = Task { try await waiting.run { await holder.wait() } }
        while waiting.load.running == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let queued = Task { try await waiting.run { 1 } }
        while waiting.load.waiting == 0 { try await Task.sleep(for: .milliseconds(5)) }
        queued.cancel()
        await #expect(throws: CancellationError.self) { try await queued.value }
        #expect(waiting.load == (1, 0))
        release.finish()
        try await running.value
        #expect(waiting.load == (0, 0))
    }

    @Test("X-Forwarded-For counts only behind a trusted proxy, and then its right-most untrusted hop")
    func trustedProxies() throws {
        let none = TrustedProxies()
        #expect(none.clientAddress(peer: "203.0.113.5", forwardedFor: ["198.51.100.1"]) == "203.0.113.5")
        let proxies = try TrustedProxies(parsing: "127.0.0.1, 10.0.0.0/8, ::1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["198.51.100.1"]) == "198.51.100.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["6.6.6.6, 198.51.100.1, 10.1.2.3"]) == "198.51.100.1",
                "the spoofable left part is ignored")
        #expect(proxies.clientAddress(peer: "::1", forwardedFor: ["6.6.6.6", "198.51.100.1:4711"]) == "198.51.100.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["[2001:db8::7]:443"]) == "2001:db8::7")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: ["unknown"]) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "127.0.0.1", forwardedFor: []) == "127.0.0.1")
        #expect(proxies.clientAddress(peer: "203.0.113.5", forwardedFor: ["198.51.100.1"]) == "203.0.113.5", "untrusted peer")
        #expect(proxies.clientAddress(peer: "::ffff:203.0.113.5", forwardedFor: []) == "203.0.113.5")
        #expect(throws: ConfigurationError.self) { try TrustedProxies(parsing: "localhost") }
        #expect(throws: ConfigurationError.self) { try TrustedProxies(parsing: "10.0.0.0/33") }
        #expect(try TrustedProxies(parsing: " ").isEmpty)
    }

    @Test("addresses parse to one canonical spelling; IPv6 masks to a prefix")
    func addresses() {
        #expect(IPAddress("2001:DB8:0:0::1")?.description == "2001:db8::1")
        #expect(IPAddress("[::1]")?.description == "::1")
        #expect(IPAddress("192.0.2.300") == nil)
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")?.masked(to: 64).description == "2001:db8:1:2::")
        #expect(IPAddress("192.0.2.77")?.masked(to: 24).description == "192.0.2.0")
    }
}

/// Lets test bodies wait until a stream finishes.
final class Gate: Sendable {
    let stream: AsyncStream<Void>
    init(_ stream: AsyncStream<Void>) { self.stream = stream }
    func wait() async { for await _ in stream {} }
}

@Suite("Users API and login throttling over HTTP")
struct UsersHTTPTests {
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!

    @Test("through a trusted proxy: 200 parallel wrong logins from address A, at most 5 are 401 and the rest 429 with Retry-After; the admin then signs in from address B")
    func burstThroughProxy() async throws {
        try await TestHerald.with(configure: { $0.trustedProxies = try TrustedProxies(parsing: "127.0.0.1, ::1") }) { herald in
            _ = try await herald.identity.createUser(email: "admin@example.com", role: .admin, password: "the right password!")
            let app = try buildApplication(herald.core, logger: testLogger)
            try await app.test(.ahc(.http)) { client in
                let answers = try await withThrowingTaskGroup(of: (UInt16, Int?).self) { group in
                    for attempt in 0..<200 {
                        group.addTask {
                            try await client.execute(
                                uri: "/auth/login", method: .post, headers: jsonHeaders + [Self.forwardedFor: "203.0.113.10"],
                                body: jsonBody(["email": "admin@example.com", "password": "guess \(attempt) is wrong"])
                            ) { (UInt16($0.status.code), Int($0.headers[.retryAfter] ?? "")) }
                        }
                    }
                    return try await group.reduce(into: [(UInt16, Int?)]()) { $0.append($1) }
                }
                let unauthorized = answers.filter { $0.0 == 401 }.count
                #expect(unauthorized <= 5)
                #expect(answers.filter { $0.0 == 429 && ($0.1 ?? 0) > 0 }.count == 200 - unauthorized)
                try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders + [Self.forwardedFor: "198.51.100.20"],
                    body: jsonBody(["email": "admin@example.com", "password": "the right password!"])
                ) { #expect($0.status == .ok) }
            }
        }
    }

    @Test("without a trusted proxy X-Forwarded-For changes nothing: spoofed addresses share the peer's limit")
    func forwardedForIgnored() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            try await herald.test { client in
                for attempt in 0..<5 {
                    try await client.execute(
                        uri: "/auth/login", method: .post, headers: jsonHeaders + [Self.forwardedFor: "198.51.100.\(attempt)"],
                        body: jsonBody(["email": "ops@example.com", "password": "wrong password!"])
                    ) { #expect($0.status == .unauthorized) }
                }
                try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders + [Self.forwardedFor: "192.0.2.200"],
                    body: jsonBody(["email": "ops@example.com", "password": "a long enough password"])
                ) { #expect($0.status == .tooManyRequests) }
            }
        }
    }

    @Test("guesses from many addresses lock the account only at the per-account limit; reset-password lifts the lock")
    func accountLockAndReset() async throws {
        var limits = IdentityService.Limits()
        limits.perAccount = RateLimit(12, per: .seconds(3600))
        try await TestHerald.with(limits: limits) { herald in
            let identity = herald.identity
            _ = try await identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            // Three addresses, five guesses each (the pair limit): 15 attempts against an account limit of 12.
            var outcomes: [HeraldError.Code] = []
            for address in ["192.0.2.1", "192.0.2.2", "192.0.2.3"] {
                for _ in 0..<5 {
                    do {
                        _ = try await identity.login(email: "ops@example.com", password: "wrong guess!", clientIP: address)
                    } catch let error as HeraldError {
                        outcomes.append(error.code)
                    }
                }
            }
            #expect(outcomes.filter { $0 == .invalidCredentials }.count == 12)
            #expect(outcomes.filter { $0 == .rateLimited }.count == 3)
            // Locked, from anywhere, until the window ends…
            await #expect(throws: HeraldError.self) {
                try await identity.login(email: "ops@example.com", password: "a long enough password", clientIP: "198.51.100.1")
            }
            // …or an operator resets the password.
            _ = try await identity.resetPassword(email: "ops@example.com", password: "a fresh long password")
            let session = try await identity.login(email: "ops@example.com", password: "a fresh long password", clientIP: "198.51.100.1")
            #expect(session.session.user.passwordChangeRequired)
        }
    }

    @Test("users: create (chosen password needs no change, a generated one does), read, change role, validation, 404s")
    func crud() async throws {
        try await TestHerald.with { herald in
            let root = try await herald.bearer()
            try await herald.test { client in
                let chosen = try await client.execute(
                    uri: "/v1/users", method: .post, headers: root + jsonHeaders,
                    body: jsonBody(["email": "mia@example.com", "role": "marketer", "password": "her own long password"])
                ) { response in
                    #expect(response.status == .created)
                    #expect(response.json["password_change_required"] as? Bool == false)
                    #expect(response.json["password"] == nil)
                    return response.json["id"] as? String ?? ""
                }
                try await client.execute(
                    uri: "/v1/users", method: .post, headers: root + jsonHeaders, body: jsonBody(["email": "gen@example.com", "role": "viewer"])
                ) { response in
                    #expect(response.json["password_change_required"] as? Bool == true)
                    #expect((response.json["password"] as? String)?.count == 20)
                }
                try await client.execute(uri: "/v1/users/\(chosen)", method: .get, headers: root) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["email"] as? String == "mia@example.com")
                }
                try await client.execute(
                    uri: "/v1/users/\(chosen)", method: .patch, headers: root + jsonHeaders, body: jsonBody(["role": "viewer"])
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["role"] as? String == "viewer")
                    #expect(response.json["disabled"] as? Bool == false)
                }
                let invalid: [([String: Any], String)] = [
                    (["role": "root"], "role"), (["disabled": "yes"], "disabled"), (["role": 3], "role"),
                    (["role": "admin", "disabled": NSNull()], "disabled"),
                ]
                for (body, field) in invalid {
                    try await client.execute(uri: "/v1/users/\(chosen)", method: .patch, headers: root + jsonHeaders, body: jsonBody(body)) { response in
                        #expect(response.status == .badRequest)
                        #expect(response.errorField == field)
                    }
                }
                for uri in ["/v1/users/\(UUID().uuidString)", "/v1/users/not-a-uuid"] {
                    try await client.execute(uri: uri, method: .get, headers: root) { #expect($0.status == .notFound) }
                    try await client.execute(uri: uri, method: .patch, headers: root + jsonHeaders, body: jsonBody(["role": "viewer"])) {
                        #expect($0.status == .notFound)
                    }
                    try await client.execute(uri: uri, method: .delete, headers: root) { #expect($0.status == .notFound) }
                }
                // A marketer's session may not manage users.
                let (cookie, csrf, _) = try await IdentitySecurityTests.login(client, "mia@example.com", "her own long password")
                try await client.execute(uri: "/v1/users", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .forbidden) }
                try await client.execute(
                    uri: "/v1/users/\(chosen)", method: .patch, headers: [.cookie: cookie, Self.csrfHeader: csrf] + jsonHeaders,
                    body: jsonBody(["role": "admin"])
                ) { #expect($0.status == .forbidden) }
                // API keys have no password to change.
                try await client.execute(
                    uri: "/auth/password", method: .post, headers: root + jsonHeaders,
                    body: jsonBody(["current_password": "x", "new_password": "a new long password"])
                ) { #expect($0.status == .forbidden) }
            }
        }
    }

    @Test("an API key never does more than its creator may now: a demoted admin's admin key keeps only the new role's rights")
    func keysFollowTheirCreator() async throws {
        try await TestHerald.with { herald in
            let root = try await herald.bearer()
            _ = try await herald.identity.createUser(email: "boss@example.com", role: .admin, password: "a long enough password")
            let creator = try await herald.identity.createUser(email: "maker@example.com", role: .admin, password: "a long enough password")
            let key = try await herald.identity.createAPIKey(name: "theirs", scopes: ["admin"], createdBy: creator.id)
            let auth: HTTPFields = [.authorization: "Bearer \(key.secret)"]
            try await herald.test { client in
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: auth) { #expect($0.status == .ok) }
                try await client.execute(
                    uri: "/v1/users/\(creator.id.uuidString)", method: .patch, headers: root + jsonHeaders, body: jsonBody(["role": "marketer"])
                ) { #expect($0.status == .ok) }
                try await client.execute(uri: "/v1/api-keys", method: .get, headers: auth) { #expect($0.status == .forbidden) }
                try await client.execute(uri: "/v1/messages", method: .get, headers: auth) { #expect($0.status == .ok) }
                try await client.execute(uri: "/auth/me", method: .get, headers: auth) { response in
                    #expect(response.json["scopes"] as? [String] == ["messages", "contacts", "campaigns"])
                }
            }
        }
    }

    @Test("two admins demoting each other at once: exactly one succeeds, one admin remains")
    func concurrentDemotions() async throws {
        try await TestHerald.with { herald in
            let identity = herald.identity
            let a = try await identity.createUser(email: "a@example.com", role: .admin, password: "a long enough password")
            let b = try await identity.createUser(email: "b@example.com", role: .admin, password: "a long enough password")
            let results = await withTaskGroup(of: Bool.self) { group in
                for id in [a.id, b.id] {
                    group.addTask { (try? await identity.updateUser(id: id, role: .viewer, disabled: nil)) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
            let admins = try await identity.users(limit: 10, cursor: nil).items.filter { $0.role == .admin && !$0.disabled }
            #expect(admins.count == 1)
        }
    }

    @Test("reset-password: ends sessions, clears the account's login counters, and asks for a new password at the next login")
    func resetPassword() async throws {
        try await TestHerald.with { herald in
            let identity = herald.identity
            _ = try await identity.createUser(email: "ops@example.com", role: .admin, password: "a long enough password")
            let before = try await identity.login(email: "ops@example.com", password: "a long enough password", clientIP: "192.0.2.1")
            for _ in 0..<5 {
                _ = try? await identity.login(email: "ops@example.com", password: "locked out guess", clientIP: "192.0.2.1")
            }
            await #expect(throws: HeraldError.self) {
                try await identity.login(email: "ops@example.com", password: "a long enough password", clientIP: "192.0.2.1")
            }
            let user = try await identity.resetPassword(email: "OPS@example.com", password: "a fresh long password")
            #expect(user.passwordChangeRequired)
            #expect(try await identity.session(token: before.token) == nil)
            let after = try await identity.login(email: "ops@example.com", password: "a fresh long password", clientIP: "192.0.2.1")
            #expect(after.session.user.passwordChangeRequired)
            await #expect(throws: HeraldError(.notFound, "no user with this e-mail", field: "email")) {
                try await identity.resetPassword(email: "nobody@example.com", password: "a fresh long password")
            }
        }
    }

    @Test("housekeeping purges ended rate-limit windows")
    func housekeeping() async throws {
        let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))
        try await TestHerald.with { herald in
            let identity = IdentityService(store: IdentityStore(pool: herald.pool), hasher: PasswordHasher(cost: 4),
                                           now: { clock.now }, logger: testLogger)
            _ = try? await identity.login(email: "x@example.com", password: "wrong password", clientIP: "192.0.2.9")
            let count = { try await herald.pool.query("SELECT count(*) AS n FROM rate_limits")[0].decode("n", as: Int.self) }
            #expect(try await count() == 3)
            try await identity.purgeExpired()
            #expect(try await count() == 3)
            clock.advance(by: 3601)
            try await identity.purgeExpired()
            #expect(try await count() == 0)
        }
    }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 += seconds } }
}
