import Foundation
import Postgres

/// All SQL of the identity aggregate: users, sessions, API keys and login throttling.
///
/// Every statement binds its values; list queries use keyset pagination on
/// `(created_at, id)`, which stays fast however deep the page.
public struct IdentityStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    // MARK: Users

    static let userColumns: PostgresQuery = "id, email, role, disabled, created_at, last_login_at"

    static func user(_ row: PostgresRow) throws -> User {
        let roleName = try row.decode("role", as: String.self)
        guard let role = Role(rawValue: roleName) else {
            throw HeraldError(.validationFailed, "unknown role stored for a user")
        }
        return User(
            id: try row.decode("id"), email: try row.decode("email"), role: role,
            disabled: try row.decode("disabled"), createdAt: try row.decode("created_at"),
            lastLoginAt: try row.decode("last_login_at"))
    }

    /// Inserts a user; a taken e-mail (any case) is `alreadyExists`.
    public func insertUser(email: String, passwordHash: String, role: Role) async throws -> User {
        do {
            let rows = try await pool.query(
                """
                INSERT INTO users (email, password_hash, role) VALUES (\(email), \(passwordHash), \(role.rawValue))
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
                INSERT INTO users (email, password_hash, role)
                SELECT \(email), \(passwordHash), 'admin' WHERE NOT EXISTS (SELECT 1 FROM users)
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
            SELECT u.id, u.email, u.role, u.disabled, u.created_at, u.last_login_at, s.csrf_token, s.expires_at,
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

    /// The unrevoked key with this hash. `last_used_at` is written at most once a minute.
    public func activeAPIKey(keyHash: [UInt8]) async throws -> APIKey? {
        let rows = try await pool.query(
            """
            SELECT \(Self.keyColumns), last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS stale
            FROM api_keys WHERE key_hash = \(keyHash) AND revoked_at IS NULL
            """)
        guard let row = rows.first else { return nil }
        if try row.decode("stale", as: Bool.self) {
            try await pool.query("UPDATE api_keys SET last_used_at = now() WHERE key_hash = \(keyHash)")
        }
        return try Self.apiKey(row)
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

    /// Revokes a key; false when there is no such unrevoked key.
    public func revokeAPIKey(id: UUID) async throws -> Bool {
        try await pool.query("UPDATE api_keys SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL")
            .affectedRows == 1
    }

    // MARK: Login throttling

    /// Failures so far in the current window for each bucket, and seconds until it ends.
    public func loginFailures(buckets: [String], window: Duration) async throws -> [String: (failures: Int, retryAfter: Int)] {
        let seconds = Int(window.components.seconds)
        let rows = try await pool.query(
            """
            SELECT bucket, failures,
                   ceil(extract(epoch FROM window_start + make_interval(secs => \(seconds)) - now()))::int8 AS retry_after
            FROM login_attempts
            WHERE bucket = ANY(\(buckets))
              AND window_start = to_timestamp(floor(extract(epoch FROM now()) / \(seconds)) * \(seconds))
            """)
        var result: [String: (Int, Int)] = [:]
        for row in rows {
            result[try row.decode("bucket")] = (try row.decode("failures", as: Int.self), max(1, try row.decode("retry_after", as: Int.self)))
        }
        return result
    }

    public func recordLoginFailure(buckets: [String], window: Duration) async throws {
        let seconds = Int(window.components.seconds)
        try await pool.query(
            """
            INSERT INTO login_attempts (bucket, window_start, failures)
            SELECT b, to_timestamp(floor(extract(epoch FROM now()) / \(seconds)) * \(seconds)), 1
            FROM unnest(\(buckets)::text[]) AS b
            ON CONFLICT (bucket, window_start) DO UPDATE SET failures = login_attempts.failures + 1
            """)
    }

    public func clearLoginFailures(bucket: String) async throws {
        try await pool.query("DELETE FROM login_attempts WHERE bucket = \(bucket)")
    }

    public func deleteOldLoginAttempts(olderThan age: Duration) async throws {
        let seconds = Int(age.components.seconds)
        try await pool.query("DELETE FROM login_attempts WHERE window_start < now() - make_interval(secs => \(seconds))")
    }
}
