import Foundation
import Postgres

/// All SQL of the identity aggregate: users, sessions and API keys. (Login throttling lives in
/// ``RateLimitStore``.)
///
/// Every statement binds its values; list queries use keyset pagination on
/// `(created_at, id)`, which stays fast however deep the page.
public struct IdentityStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    // MARK: Users

    static let userColumns: PostgresQuery =
        "id, email, role, disabled, created_at, last_login_at, password_change_required"

    static func user(_ row: PostgresRow) throws -> User {
        let roleName = try row.decode("role", as: String.self)
        guard let role = Role(rawValue: roleName) else {
            throw HeraldError(.validationFailed, "unknown role stored for a user")
        }
        return User(
            id: try row.decode("id"), email: try row.decode("email"), role: role,
            disabled: try row.decode("disabled"), createdAt: try row.decode("created_at"),
            lastLoginAt: try row.decode("last_login_at"),
            passwordChangeRequired: try row.decode("password_change_required"))
    }

    /// Inserts a user; a taken e-mail (any case) is `alreadyExists`.
    public func insertUser(email: String, passwordHash: String, role: Role, passwordChangeRequired: Bool = false) async throws -> User {
        do {
            let rows = try await pool.query(
                """
                INSERT INTO users (email, password_hash, role, password_change_required)
                VALUES (\(email), \(passwordHash), \(role.rawValue), \(passwordChangeRequired))
                RETURNING \(Self.userColumns)
                """)
            return try Self.user(rows[0])
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw HeraldError(.alreadyExists, "a user with this e-mail already exists", field: "email")
        }
    }

    /// Inserts the first admin only while there are no users at all. The advisory lock makes
    /// two processes starting at once agree on one admin.
    public func insertFirstUser(email: String, passwordHash: String) async throws -> User? {
        try await pool.withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(7231000002)")
            let rows = try await connection.query(
                """
                INSERT INTO users (email, password_hash, role, password_change_required)
                SELECT \(email), \(passwordHash), 'admin', true WHERE NOT EXISTS (SELECT 1 FROM users)
                RETURNING \(Self.userColumns)
                """)
            return try rows.first.map(Self.user)
        }
    }

    /// The user and password hash for a login, by e-mail in any case.
    public func credentials(email: String) async throws -> (user: User, passwordHash: String)? {
        let rows = try await pool.query(
            "SELECT \(Self.userColumns), password_hash FROM users WHERE lower(email) = lower(\(email))")
        guard let row = rows.first else { return nil }
        return (try Self.user(row), try row.decode("password_hash"))
    }

    /// The user and password hash by id (changing one's own password).
    public func credentials(userID: UUID) async throws -> (user: User, passwordHash: String)? {
        let rows = try await pool.query("SELECT \(Self.userColumns), password_hash FROM users WHERE id = \(userID)")
        guard let row = rows.first else { return nil }
        return (try Self.user(row), try row.decode("password_hash"))
    }

    public func user(id: UUID) async throws -> User? {
        let rows = try await pool.query("SELECT \(Self.userColumns) FROM users WHERE id = \(id)")
        return try rows.first.map(Self.user)
    }

    public func users(limit: Int, after cursor: ListCursor?) async throws -> Page<User> {
        try await pool.page(
            of: """
                SELECT \(Self.userColumns), (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us
                FROM users
                """,
            limit: limit, after: cursor, decode: Self.user)
    }

    public func recordLogin(userID: UUID) async throws {
        try await pool.query("UPDATE users SET last_login_at = now() WHERE id = \(userID)")
    }

    /// Serialises every change that can take away an enabled admin, so two admins demoting
    /// each other at once cannot both succeed and leave none.
    static let adminSetLock: Int64 = 7231000003

    /// Changes role and/or disabled state. Disabling ends the user's sessions and revokes the API
    /// keys they created, in the same transaction. Refused with `lastAdmin` when it would leave
    /// no enabled admin; nil when there is no such user.
    public func updateUser(id: UUID, role: Role?, disabled: Bool?) async throws -> User? {
        try await pool.withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.adminSetLock))")
            let current = try await connection.query("SELECT role, disabled FROM users WHERE id = \(id) FOR UPDATE")
            guard let row = current.first else { return nil }
            let currentRole = try row.decode("role", as: String.self)
            let currentlyDisabled = try row.decode("disabled", as: Bool.self)
            let wasAdmin = currentRole == Role.admin.rawValue && !currentlyDisabled
            let staysAdmin = (role ?? .admin) == .admin && !(disabled ?? false)
            if wasAdmin && !staysAdmin { try await Self.requireAnotherAdmin(than: id, on: connection) }
            let rows = try await connection.query(
                """
                UPDATE users SET role = coalesce(\(role?.rawValue), role), disabled = coalesce(\(disabled), disabled),
                                 updated_at = now()
                WHERE id = \(id)
                RETURNING \(Self.userColumns)
                """)
            if disabled == true {
                try await connection.query("DELETE FROM sessions WHERE user_id = \(id)")
                try await connection.query("UPDATE api_keys SET revoked_at = now() WHERE created_by = \(id) AND revoked_at IS NULL")
            }
            return try Self.user(rows[0])
        }
    }

    /// Deletes a user and revokes the API keys they created (their sessions go with the row).
    /// Refused with `lastAdmin` for the last enabled admin; false when there is no such user.
    public func deleteUser(id: UUID) async throws -> Bool {
        try await pool.withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.adminSetLock))")
            let current = try await connection.query("SELECT role, disabled FROM users WHERE id = \(id) FOR UPDATE")
            guard let row = current.first else { return false }
            let currentRole = try row.decode("role", as: String.self)
            let currentlyDisabled = try row.decode("disabled", as: Bool.self)
            if currentRole == Role.admin.rawValue && !currentlyDisabled {
                try await Self.requireAnotherAdmin(than: id, on: connection)
            }
            // Revoke first: the foreign key then sets created_by to NULL, which would otherwise
            // read as a key made by the CLI.
            try await connection.query("UPDATE api_keys SET revoked_at = now() WHERE created_by = \(id) AND revoked_at IS NULL")
            try await connection.query("DELETE FROM users WHERE id = \(id)")
            return true
        }
    }

    static func requireAnotherAdmin(than id: UUID, on connection: PostgresConnection) async throws {
        let others = try await connection.query(
            "SELECT count(*) AS n FROM users WHERE role = 'admin' AND NOT disabled AND id <> \(id)")
        guard try others[0].decode("n", as: Int.self) > 0 else {
            throw HeraldError(.lastAdmin, "this is the last enabled admin; make another user admin first")
        }
    }

    /// Sets a new password hash and ends the user's sessions except `keepingSession` (the one
    /// that changed it, if any). `changeRequired` is true after a reset by the CLI.
    public func setPassword(userID: UUID, passwordHash: String, changeRequired: Bool, keepingSession: [UInt8]?) async throws -> User? {
        try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                UPDATE users SET password_hash = \(passwordHash), password_change_required = \(changeRequired),
                                 password_changed_at = now(), updated_at = now()
                WHERE id = \(userID)
                RETURNING \(Self.userColumns)
                """)
            guard let row = rows.first else { return nil }
            if let keepingSession {
                try await connection.query("DELETE FROM sessions WHERE user_id = \(userID) AND token_hash <> \(keepingSession)")
            } else {
                try await connection.query("DELETE FROM sessions WHERE user_id = \(userID)")
            }
            return try Self.user(row)
        }
    }

    /// Marks a user as having to choose a new password (a first admin from before 0003 that
    /// still has its printed password).
    public func requirePasswordChange(userID: UUID) async throws {
        try await pool.query("UPDATE users SET password_change_required = true WHERE id = \(userID)")
    }

    // MARK: Sessions

    public func insertSession(userID: UUID, tokenHash: [UInt8], csrfToken: String, lifetime: Duration) async throws -> Date {
        let seconds = Int(lifetime.components.seconds)
        let rows = try await pool.query(
            """
            INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
            VALUES (\(tokenHash), \(userID), \(csrfToken), now() + make_interval(secs => \(seconds)))
            RETURNING expires_at
            """)
        return try rows[0].decode("expires_at")
    }

    /// The live session with this token hash, for an enabled user. A read on every request;
    /// `last_seen_at` is written at most once a minute, so busy dashboards do not write per request.
    public func session(tokenHash: [UInt8]) async throws -> Session? {
        let rows = try await pool.query(
            """
            SELECT u.id, u.email, u.role, u.disabled, u.created_at, u.last_login_at, u.password_change_required,
                   s.csrf_token, s.expires_at,
                   s.last_seen_at < now() - interval '1 minute' AS stale
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = \(tokenHash) AND s.expires_at > now() AND NOT u.disabled
            """)
        guard let row = rows.first else { return nil }
        if try row.decode("stale", as: Bool.self) {
            try await pool.query("UPDATE sessions SET last_seen_at = now() WHERE token_hash = \(tokenHash)")
        }
        return Session(user: try Self.user(row), csrfToken: try row.decode("csrf_token"), expiresAt: try row.decode("expires_at"))
    }

    public func deleteSession(tokenHash: [UInt8]) async throws {
        try await pool.query("DELETE FROM sessions WHERE token_hash = \(tokenHash)")
    }

    public func deleteExpiredSessions() async throws -> Int {
        try await pool.query("DELETE FROM sessions WHERE expires_at <= now()").affectedRows
    }

    // MARK: API keys

    static let keyColumns: PostgresQuery = "id, name, prefix, scopes, created_at, last_used_at, revoked_at"

    static func apiKey(_ row: PostgresRow) throws -> APIKey {
        let scopes = try row.decode("scopes", as: [String].self).compactMap(Scope.init(rawValue:))
        return APIKey(
            id: try row.decode("id"), name: try row.decode("name"), prefix: try row.decode("prefix"),
            scopes: scopes, createdAt: try row.decode("created_at"), lastUsedAt: try row.decode("last_used_at"),
            revokedAt: try row.decode("revoked_at"))
    }

    public func insertAPIKey(name: String, prefix: String, keyHash: [UInt8], scopes: [Scope], createdBy: UUID?) async throws -> APIKey {
        let rows = try await pool.query(
            """
            INSERT INTO api_keys (name, prefix, key_hash, scopes, created_by)
            VALUES (\(name), \(prefix), \(keyHash), \(scopes.map(\.rawValue)), \(createdBy))
            RETURNING \(Self.keyColumns)
            """)
        return try Self.apiKey(rows[0])
    }

    /// The unrevoked key with this hash, and the current role of the user who created it (nil
    /// for keys made by the CLI). A key whose creator is disabled does not authenticate, even if
    /// disabling it and revoking its keys were somehow not one transaction.
    /// `last_used_at` is written at most once a minute.
    public func activeAPIKey(keyHash: [UInt8]) async throws -> (key: APIKey, creatorRole: Role?)? {
        let rows = try await pool.query(
            """
            SELECT k.id, k.name, k.prefix, k.scopes, k.created_at, k.last_used_at, k.revoked_at, u.role AS creator_role,
                   k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute' AS stale
            FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
            WHERE k.key_hash = \(keyHash) AND k.revoked_at IS NULL
              AND (k.created_by IS NULL OR (u.id IS NOT NULL AND NOT u.disabled))
            """)
        guard let row = rows.first else { return nil }
        if try row.decode("stale", as: Bool.self) {
            try await pool.query("UPDATE api_keys SET last_used_at = now() WHERE key_hash = \(keyHash)")
        }
        let role = try row.decode("creator_role", as: String?.self).map { name in
            guard let role = Role(rawValue: name) else { throw HeraldError(.validationFailed, "unknown role stored for a user") }
            return role
        }
        return (try Self.apiKey(row), role)
    }

    /// Unrevoked keys, newest first.
    public func apiKeys(limit: Int, after cursor: ListCursor?) async throws -> Page<APIKey> {
        try await pool.page(
            of: """
                SELECT \(Self.keyColumns), (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us
                FROM api_keys WHERE revoked_at IS NULL
                """,
            limit: limit, after: cursor, decode: Self.apiKey)
    }

    /// Revokes a key; nil when there is no such unrevoked key.
    public func revokeAPIKey(id: UUID) async throws -> APIKey? {
        try await pool.query(
            "UPDATE api_keys SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING \(Self.keyColumns)")
            .first.map(Self.apiKey)
    }
}
