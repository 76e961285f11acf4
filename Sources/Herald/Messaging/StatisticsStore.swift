import Foundation
import Postgres
import SMS

/// All SQL of the overview's message statistics. Hours are whole UTC hours, as hours since the
/// epoch.
struct StatisticsStore: Sendable {
    let pool: PostgresPool

    /// One (hour, provider, status) group.
    struct Count: Sendable {
        let hour: Int64
        let provider: UUID?
        let status: MessageStatus
        let count: Int
    }

    static func date(_ hour: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(hour * 3600)) }

    /// `pg_advisory_xact_lock` key of the hour counting ("HERALDHC").
    static let lockKey: Int64 = 0x4845_5241_4C44_4843

    /// Counted from `messages`, from the start of hour `from` on.
    func liveHours(from: Int64) async throws -> [Count] {
        try decode(await pool.query(
            """
            SELECT (extract(epoch FROM bucket) / 3600)::int8 AS hour, provider_id, status, n
            FROM (SELECT date_bin('1 hour', created_at, 'epoch') AS bucket, provider_id, status, count(*)::int8 AS n
                  FROM messages WHERE created_at >= \(Self.date(from))
                  GROUP BY 1, 2, 3) AS counted
            """))
    }

    /// The summary of hours [`from`, `until`) (only those already counted).
    func countedHours(from: Int64, until: Int64) async throws -> [Count] {
        try decode(await pool.query(
            """
            SELECT (extract(epoch FROM hour) / 3600)::int8 AS hour, provider_id, status, sum(count)::int8 AS n
            FROM message_hour_counts
            WHERE hour >= \(Self.date(from)) AND hour < \(Self.date(until))
            GROUP BY 1, 2, 3
            """))
    }

    /// Counts the hours in [`from`, `until`) not counted yet, once: under an advisory lock, so two
    /// processes counting at once never count an hour twice.
    func countHours(from: Int64, until: Int64) async throws {
        let start = Self.date(from), end = Self.date(until)
        let missing = try await pool.query(
            """
            SELECT count(*)::int8 AS n FROM generate_series(\(start), \(end) - interval '1 hour', interval '1 hour') AS h
            WHERE NOT EXISTS (SELECT 1 FROM message_hours_counted c WHERE c.hour = h)
            """)
        guard try missing[0].decode("n", as: Int64.self) > 0 else { return }
        try await pool.withTransaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.lockKey))")
            try await connection.query(
                """
                WITH missing AS (
                    SELECT h AS hour FROM generate_series(\(start), \(end) - interval '1 hour', interval '1 hour') AS h
                    WHERE NOT EXISTS (SELECT 1 FROM message_hours_counted c WHERE c.hour = h)
                ), counted AS (
                    INSERT INTO message_hour_counts (hour, provider_id, status, count)
                    SELECT date_bin('1 hour', m.created_at, 'epoch'), m.provider_id, m.status, count(*)
                    FROM messages m
                    WHERE m.created_at >= (SELECT min(hour) FROM missing)
                      AND m.created_at < (SELECT max(hour) FROM missing) + interval '1 hour'
                      AND date_bin('1 hour', m.created_at, 'epoch') IN (SELECT hour FROM missing)
                    GROUP BY 1, 2, 3
                )
                INSERT INTO message_hours_counted (hour) SELECT hour FROM missing
                """)
        }
    }

    func providerNames(_ ids: [UUID]) async throws -> [UUID: String] {
        var names: [UUID: String] = [:]
        for row in try await pool.query("SELECT id, name FROM providers WHERE id = ANY(\(ids))") {
            names[try row.decode("id")] = try row.decode("name")
        }
        return names
    }

    private func decode(_ rows: PostgresRows) throws -> [Count] {
        try rows.compactMap { row in
            guard let status = MessageStatus(rawValue: try row.decode("status")) else { return nil }
            return Count(hour: try row.decode("hour"), provider: try row.decode("provider_id"), status: status,
                         count: Int(try row.decode("n", as: Int64.self)))
        }
    }
}
