import Crypto
import Foundation
import Postgres
import SMS

/// All SQL of `Idempotency-Key`s: the first result of a keyed request, kept 24 hours, so a
/// retried request gets the same answer instead of a second message.
struct IdempotencyStore: Sendable {
    let pool: PostgresPool
    /// How long a key is remembered (Stripe's convention, and API.md's).
    static let lifetime: TimeInterval = 24 * 3600

    /// A remembered first result: the request it answered (a hash) and the result itself.
    struct Stored: Sendable {
        var requestHash: [UInt8]
        var result: Data
    }

    /// A keyed request: its scope (the kind of request and the caller), the key as checked,
    /// and the hash of the request's canonical form.
    struct Request: Sendable {
        var scope: String
        var key: String
        var hash: [UInt8]

        /// `kind` names the endpoint (`messages`); the caller is the API key (or the session).
        init(kind: String, key: String, apiKeyID: UUID?, canonicalRequest: [UInt8]) throws(HeraldError) {
            guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F })
            else { throw .validation("Idempotency-Key", "must be 1–255 visible ASCII characters") }
            scope = kind + ":" + (apiKeyID?.uuidString.lowercased() ?? "session")
            self.key = key
            hash = Array(SHA256.hash(data: canonicalRequest))
        }

        /// The first result, when `stored` answered this same request; `idempotency_conflict`
        /// when the key came with another request.
        func replay(_ stored: Stored) throws(HeraldError) -> Data {
            guard ConstantTime.equals(stored.requestHash, hash) else {
                throw HeraldError(.idempotencyConflict, "this Idempotency-Key was used with a different body", field: "Idempotency-Key")
            }
            return stored.result
        }
    }

    func lookup(scope: String, key: String, now: Date) async throws -> Stored? {
        try Self.decode(try await pool.query(Self.lookupQuery(scope: scope, key: key, now: now)))
    }

    /// Runs `perform` in one transaction with the key, unless a result for it exists: then
    /// that is returned instead and `perform` never runs. Concurrent requests with the same
    /// key are serialised by an advisory lock, so exactly one of them performs.
    func once(
        scope: String, key: String, requestHash: [UInt8], now: Date,
        perform: (PostgresConnection) async throws -> Data
    ) async throws -> (stored: Stored, replayed: Bool) {
        try await pool.withTransaction { connection in
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\(scope + "\u{1F}" + key), 7231000003))")
            if let stored = try Self.decode(try await connection.query(Self.lookupQuery(scope: scope, key: key, now: now))) {
                return (stored, true)
            }
            let result = try await perform(connection)
            try await connection.query(
                """
                INSERT INTO idempotency_keys (scope, key, request_hash, response_code, response_body, created_at)
                VALUES (\(scope), \(key), \(requestHash), 0, \(String(decoding: result, as: UTF8.self))::jsonb, \(now))
                ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, response_code = excluded.response_code,
                    response_body = excluded.response_body, created_at = excluded.created_at
                """)
            return (Stored(requestHash: requestHash, result: result), false)
        }
    }

    /// Forgets keys older than their lifetime (housekeeping).
    @discardableResult
    func purge(now: Date) async throws -> Int {
        try await pool.query(
            "DELETE FROM idempotency_keys WHERE created_at < \(now.addingTimeInterval(-Self.lifetime))").affectedRows
    }

    private static func lookupQuery(scope: String, key: String, now: Date) -> PostgresQuery {
        """
        SELECT request_hash, response_body::text FROM idempotency_keys
        WHERE scope = \(scope) AND key = \(key) AND created_at > \(now.addingTimeInterval(-lifetime))
        """
    }

    private static func decode(_ rows: PostgresRows) throws -> Stored? {
        guard let row = rows.first else { return nil }
        let text: String = try row.decode(1)
        return Stored(requestHash: try row.decode(0), result: Data(text.utf8))
    }
}
