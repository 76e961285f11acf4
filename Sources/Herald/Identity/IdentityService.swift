import Foundation
import Logging

/// Users, dashboard sessions and API keys.
public struct IdentityService: Sendable {
    /// Login throttling (see ``LoginThrottle`` for why these three and in this order) and sessions.
    public struct Limits: Sendable {
        /// Attempts for one account from one client address.
        public var perAccountAndAddress = RateLimit(5, per: .seconds(15 * 60))
        /// Attempts from one client address (an IPv6 /64), whatever the account.
        public var perAddress = RateLimit(50, per: .seconds(15 * 60))
        /// Consecutive failed attempts for one account from anywhere; reaching it locks the
        /// account until the window ends (or `herald users reset-password`).
        public var perAccount = RateLimit(100, per: .seconds(3600))
        public var sessionLifetime: Duration = .seconds(12 * 3600)
        public init() {}
    }

    public static let firstAdminEmail = "admin@localhost"
    /// API keys look like `hk_` + 40 base62 characters; the first 11 characters are shown in lists.
    static let keyPrefix = "hk_"

    let store: IdentityStore
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    public let limits: Limits
    /// The service's clock (rate-limit windows).
    let now: @Sendable () -> Date
    /// Where the first admin's generated password is kept while it is still the password.
    let firstLoginFile = FirstLoginFile()
    let logger: Logger
    /// Keys that authenticated, by digest, for a moment: every API call would otherwise cost a
    /// query before its real work (and wait behind whatever else holds the pool). A revoked
    /// key, a disabled or demoted creator take effect at once in this process (the cache is
    /// emptied) and within ``apiKeyCacheAge`` in other processes.
    let apiKeyCache = TTLCache<[UInt8], Principal>(maximumAge: IdentityService.apiKeyCacheAge, capacity: 10_000)
    public static let apiKeyCacheAge: Duration = .seconds(2)

    public init(
        store: IdentityStore, rateLimits: RateLimitStore? = nil, hasher: PasswordHasher = PasswordHasher(),
        limits: Limits = Limits(), now: @escaping @Sendable () -> Date = { Date() }, logger: Logger
    ) {
        self.store = store
        self.hasher = hasher
        self.limits = limits
        self.throttle = LoginThrottle(store: rateLimits ?? RateLimitStore(pool: store.pool), limits: limits)
        self.now = now
        self.logger = logger
    }

    // MARK: Users

    /// Creates a user. `passwordChangeRequired` is for passwords someone else chose (generated
    /// ones); a password the admin typed for the user needs no change.
    public func createUser(email rawEmail: String, role: Role, password: String, passwordChangeRequired: Bool = false) async throws -> User {
        let email = try IdentityValidation.email(rawEmail)
        try IdentityValidation.password(password)
        let hash = try await hasher.hash(password)
        let user = try await store.insertUser(email: email, passwordHash: hash, role: role, passwordChangeRequired: passwordChangeRequired)
        logger.notice("user created", metadata: ["user.id": "\(user.id)", "user.role": "\(role.rawValue)"])
        return user
    }

    public func users(limit: Int, cursor: ListCursor?) async throws -> Page<User> {
        try await store.users(limit: limit, after: cursor)
    }

    public func user(id: UUID) async throws -> User {
        guard let user = try await store.user(id: id) else { throw HeraldError(.notFound, "no user with this id") }
        return user
    }

    /// Changes a user's role and/or disables or enables them. Disabling ends their sessions and
    /// revokes the API keys they created, at once; enabling does not bring those back. Any change
    /// that would leave no enabled admin is refused with `lastAdmin`.
    public func updateUser(id: UUID, role: Role?, disabled: Bool?) async throws -> User {
        defer { apiKeyCache.removeAll() }  // the user's keys follow their role and state
        guard let user = try await store.updateUser(id: id, role: role, disabled: disabled) else {
            throw HeraldError(.notFound, "no user with this id")
        }
        logger.notice("user changed", metadata: [
            "user.id": "\(id)", "user.role": "\(user.role.rawValue)", "user.disabled": "\(user.disabled)",
        ])
        return user
    }

    /// Deletes a user, their sessions, and revokes the API keys they created. Refused with
    /// `lastAdmin` for the last enabled admin.
    public func deleteUser(id: UUID) async throws {
        defer { apiKeyCache.removeAll() }  // their keys are revoked
        guard try await store.deleteUser(id: id) else { throw HeraldError(.notFound, "no user with this id") }
        logger.notice("user deleted", metadata: ["user.id": "\(id)"])
    }

    /// On a database with no users: creates `admin@localhost` with a random password that must
    /// be changed at the first login, and returns that password (the only time it exists in
    /// clear). `nil` when users exist.
    public func bootstrapFirstAdmin() async throws -> (user: User, password: String)? {
        let password = Tokens.password()
        let hash = try await hasher.hash(password)
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
        return try await hasher.verify(password, hash: hash)
    }

    /// The user with this e-mail, if any (any case).
    public func user(email: String) async throws -> User? {
        try await store.credentials(email: email)?.user
    }

    /// Marks a user as having to choose a new password at their next request.
    public func requirePasswordChange(userID: UUID) async throws {
        try await store.requirePasswordChange(userID: userID)
    }

    // MARK: Passwords

    /// Changes the signed-in user's own password. The current password is required and its
    /// checks count against the same limits as logins (a stolen session must not become a
    /// password-guessing oracle). Every other session of the user ends; `keepingSession` stays.
    public func changePassword(
        userID: UUID, currentPassword: String, newPassword: String, keepingSession token: String?, clientIP: String
    ) async throws -> User {
        try IdentityValidation.password(newPassword, field: "new_password")
        guard newPassword != currentPassword else {
            throw HeraldError.validation("new_password", "must differ from the current password")
        }
        guard let found = try await store.credentials(userID: userID), !found.user.disabled else {
            throw HeraldError(.unauthorized, "the session's user no longer exists")
        }
        try await throttle.admit(email: found.user.email, address: clientIP, now: now())
        guard try await hasher.verify(currentPassword, hash: found.passwordHash) else {
            logger.info("password change with a wrong current password", metadata: ["user.id": "\(userID)", "client.ip": "\(clientIP)"])
            throw HeraldError(.invalidCurrentPassword, "is not your current password", field: "current_password")
        }
        try await throttle.succeeded(email: found.user.email, address: clientIP)
        let hash = try await hasher.hash(newPassword)
        guard let user = try await store.setPassword(
            userID: userID, passwordHash: hash, changeRequired: false, keepingSession: token.map(Tokens.digest))
        else { throw HeraldError(.unauthorized, "the session's user no longer exists") }
        if user.email == Self.firstAdminEmail { firstLoginFile.remove() }
        logger.notice("password changed", metadata: ["user.id": "\(userID)"])
        return user
    }

    /// Sets a new password for a user who cannot sign in (the CLI's `users reset-password`):
    /// ends all their sessions, forgets their login failures, and makes them choose their own
    /// password at the next login.
    public func resetPassword(email rawEmail: String, password: String) async throws -> User {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        try IdentityValidation.password(password)
        guard (try? IdentityValidation.email(email)) != nil, let found = try await store.credentials(email: email) else {
            throw HeraldError(.notFound, "no user with this e-mail", field: "email")
        }
        let hash = try await hasher.hash(password)
        guard let user = try await store.setPassword(userID: found.user.id, passwordHash: hash, changeRequired: true, keepingSession: nil) else {
            throw HeraldError(.notFound, "no user with this e-mail", field: "email")
        }
        try await throttle.clear(email: email)
        logger.notice("password reset", metadata: ["user.id": "\(user.id)"])
        return user
    }

    // MARK: Sessions

    /// Checks e-mail and password and starts a session. Every attempt is counted before any
    /// password is checked (``LoginThrottle``); past a limit the answer is `rateLimited` with
    /// `retryAfter`. The session of a user with ``User/passwordChangeRequired`` can only change
    /// the password until it is changed.
    public func login(email rawEmail: String, password: String, clientIP: String) async throws -> StartedSession {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        try await throttle.admit(email: email, address: clientIP, now: now())
        // Something that cannot be an address (a NUL byte, say) names no account: it is checked
        // against the decoy like any unknown one, and never reaches the database.
        let found = (try? IdentityValidation.email(email)) == nil ? nil : try await store.credentials(email: email)
        let matches = try await hasher.verify(password, hash: found?.passwordHash)
        guard let found, matches, !found.user.disabled else {
            logger.info("login failed", metadata: ["client.ip": "\(clientIP)"])
            throw HeraldError(.invalidCredentials, "e-mail or password is wrong")
        }
        try await throttle.succeeded(email: email, address: clientIP)
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

    /// The principal for a bearer key, or nil when the key is unknown, revoked, or its creator
    /// is disabled. A key never does more than the user who created it may do now: after that
    /// user is demoted, the key keeps only the scopes of the new role (and a viewer's keys are
    /// read-only). Keys from the CLI have no creator and keep their scopes.
    public func authenticate(apiKey: String) async throws -> Principal? {
        guard apiKey.hasPrefix(Self.keyPrefix), apiKey.count <= 128 else { return nil }
        let digest = Tokens.digest(apiKey)
        if let cached = apiKeyCache.value(for: digest) { return cached }
        guard let (key, creatorRole) = try await store.activeAPIKey(keyHash: digest) else { return nil }
        var scopes = Set(key.scopes)
        var readOnly = false
        if let creatorRole, creatorRole != .admin {
            let granted: Set<Scope> = scopes.contains(.admin) ? Set(Scope.allCases) : scopes
            scopes = granted.intersection(creatorRole.scopes)
            readOnly = creatorRole.isReadOnly
        }
        let principal = Principal(kind: .apiKey(id: key.id, name: key.name), scopes: scopes, isReadOnly: readOnly)
        apiKeyCache.set(principal, for: digest)
        return principal
    }

    public func apiKeys(limit: Int, cursor: ListCursor?) async throws -> Page<APIKey> {
        try await store.apiKeys(limit: limit, after: cursor)
    }

    /// Revokes a key at once; returns it as it was.
    @discardableResult
    public func revokeAPIKey(id: UUID) async throws -> APIKey {
        defer { apiKeyCache.removeAll() }
        guard let key = try await store.revokeAPIKey(id: id) else {
            throw HeraldError(.notFound, "no API key with this id")
        }
        logger.notice("api key revoked", metadata: ["api_key.id": "\(id)"])
        return key
    }

    /// Housekeeping: expired sessions and ended rate-limit windows.
    public func purgeExpired() async throws {
        _ = try await store.deleteExpiredSessions()
        try await throttle.store.purge(before: now())
    }
}
