import Foundation
import Logging

/// Users, dashboard sessions and API keys.
public struct IdentityService: Sendable {
    public struct Limits: Sendable {
        /// Failed logins allowed per account in one window.
        public var failuresPerAccount = 5
        /// Failed logins allowed per client IP in one window.
        public var failuresPerIP = 20
        public var window: Duration = .seconds(15 * 60)
        public var sessionLifetime: Duration = .seconds(12 * 3600)
        public init() {}
    }

    public static let firstAdminEmail = "admin@localhost"
    /// API keys look like `hk_` + 40 base62 characters; the first 11 characters are shown in lists.
    static let keyPrefix = "hk_"

    let store: IdentityStore
    let hasher: PasswordHasher
    public let limits: Limits
    let logger: Logger

    public init(store: IdentityStore, hasher: PasswordHasher = PasswordHasher(), limits: Limits = Limits(), logger: Logger) {
        self.store = store
        self.hasher = hasher
        self.limits = limits
        self.logger = logger
    }

    // MARK: Users

    public func createUser(email rawEmail: String, role: Role, password: String) async throws -> User {
        let email = try IdentityValidation.email(rawEmail)
        try IdentityValidation.password(password)
        let hash = await hasher.hash(password)
        let user = try await store.insertUser(email: email, passwordHash: hash, role: role)
        logger.notice("user created", metadata: ["user.id": "\(user.id)", "user.role": "\(role.rawValue)"])
        return user
    }

    public func users(limit: Int, cursor: ListCursor?) async throws -> Page<User> {
        try await store.users(limit: limit, after: cursor)
    }

    /// On a database with no users: creates `admin@localhost` with a random password and
    /// returns that password (the only time it exists in clear). `nil` when users exist.
    public func bootstrapFirstAdmin() async throws -> (user: User, password: String)? {
        let password = Tokens.password()
        let hash = await hasher.hash(password)
        guard let user = try await store.insertFirstUser(email: Self.firstAdminEmail, passwordHash: hash) else {
            return nil
        }
        logger.notice("first admin created", metadata: ["user.id": "\(user.id)"])
        return (user, password)
    }

    /// Whether `password` is still the given user's password (used to decide whether the
    /// first-login hint is still worth printing).
    public func passwordMatches(email: String, password: String) async throws -> Bool {
        guard let (_, hash) = try await store.credentials(email: email) else { return false }
        return await hasher.verify(password, hash: hash)
    }

    // MARK: Sessions

    /// Checks e-mail and password and starts a session. Failures are counted per account
    /// and per client IP; past either limit the answer is `rateLimited` with `retryAfter`,
    /// before any password is checked.
    public func login(email rawEmail: String, password: String, clientIP: String) async throws -> StartedSession {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        let accountBucket = "account:" + Tokens.digest(email).prefix(16).map { String(format: "%02x", $0) }.joined()
        let ipBucket = "ip:" + clientIP
        let buckets = [accountBucket, ipBucket]
        let seen = try await store.loginFailures(buckets: buckets, window: limits.window)
        if let account = seen[accountBucket], account.failures >= limits.failuresPerAccount {
            throw HeraldError(.rateLimited, "too many failed logins for this account; try again later", retryAfter: account.retryAfter)
        }
        if let ip = seen[ipBucket], ip.failures >= limits.failuresPerIP {
            throw HeraldError(.rateLimited, "too many failed logins from this address; try again later", retryAfter: ip.retryAfter)
        }
        let found = try await store.credentials(email: email)
        let matches = await hasher.verify(password, hash: found?.passwordHash)
        guard let found, matches, !found.user.disabled else {
            try await store.recordLoginFailure(buckets: buckets, window: limits.window)
            logger.info("login failed", metadata: ["client.ip": "\(clientIP)"])
            throw HeraldError(.invalidCredentials, "e-mail or password is wrong")
        }
        try await store.clearLoginFailures(bucket: accountBucket)
        try await store.recordLogin(userID: found.user.id)
        let token = Tokens.base62(length: 43)
        let csrf = Tokens.base62(length: 32)
        let expires = try await store.insertSession(
            userID: found.user.id, tokenHash: Tokens.digest(token), csrfToken: csrf, lifetime: limits.sessionLifetime)
        logger.info("login", metadata: ["user.id": "\(found.user.id)"])
        return StartedSession(token: token, session: Session(user: found.user, csrfToken: csrf, expiresAt: expires))
    }

    public func session(token: String) async throws -> Session? {
        guard token.count <= 128 else { return nil }
        return try await store.session(tokenHash: Tokens.digest(token))
    }

    public func logout(token: String) async throws {
        try await store.deleteSession(tokenHash: Tokens.digest(token))
    }

    // MARK: API keys

    public func createAPIKey(name rawName: String, scopes rawScopes: [String], createdBy: UUID?) async throws -> CreatedAPIKey {
        let name = try IdentityValidation.name(rawName)
        let scopes = try IdentityValidation.scopes(rawScopes)
        let secret = Self.keyPrefix + Tokens.base62(length: 40)
        let key = try await store.insertAPIKey(
            name: name, prefix: String(secret.prefix(11)), keyHash: Tokens.digest(secret), scopes: scopes, createdBy: createdBy)
        logger.notice("api key created", metadata: ["api_key.id": "\(key.id)", "api_key.scopes": "\(scopes.map(\.rawValue))"])
        return CreatedAPIKey(key: key, secret: secret)
    }

    /// The principal for a bearer key, or nil when the key is unknown or revoked.
    public func authenticate(apiKey: String) async throws -> Principal? {
        guard apiKey.hasPrefix(Self.keyPrefix), apiKey.count <= 128 else { return nil }
        guard let key = try await store.activeAPIKey(keyHash: Tokens.digest(apiKey)) else { return nil }
        return Principal(kind: .apiKey(id: key.id, name: key.name), scopes: Set(key.scopes))
    }

    public func apiKeys(limit: Int, cursor: ListCursor?) async throws -> Page<APIKey> {
        try await store.apiKeys(limit: limit, after: cursor)
    }

    public func revokeAPIKey(id: UUID) async throws {
        guard try await store.revokeAPIKey(id: id) else {
            throw HeraldError(.notFound, "no API key with this id")
        }
        logger.notice("api key revoked", metadata: ["api_key.id": "\(id)"])
    }

    /// Housekeeping: expired sessions and old login-attempt windows.
    public func purgeExpired() async throws {
        _ = try await store.deleteExpiredSessions()
        try await store.deleteOldLoginAttempts(olderThan: .seconds(24 * 3600))
    }
}
