import Foundation
import Postgres

/// A limit: at most `limit` hits per `window`.
public struct RateLimit: Sendable, Equatable {
    public var limit: Int
    public var window: Duration

    public init(_ limit: Int, per window: Duration) {
        self.limit = limit
        self.window = window
    }
}

/// What one hit on a limit decided.
public enum RateLimitDecision: Sendable, Equatable {
    /// Within the limit; `remaining` more hits fit in this window.
    case allowed(remaining: Int)
    /// Over the limit until the window ends, `retryAfter` seconds from now (at least 1).
    case denied(retryAfter: Int)

    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }
}

/// Counters for every limit that must hold across Herald processes sharing one database:
/// login attempts now, verification-code sends and checks later.
///
/// Each key has one fixed window that starts at its first hit and lasts `window`; the hit that
/// finds the window over starts a new one. Counting and deciding are one statement, so any
/// number of concurrent requests, in any number of processes, get exactly `limit` allowed hits
/// per window between them — a check followed by a separate write would let a burst through
/// while the first answers are still being computed.
///
/// Time comes from the caller (`now`), so services read their injected clock and tests can move
/// it. Keys are opaque text (at most 300 characters); callers namespace them (`login:pair:…`)
/// and hash personal data they would rather not store.
public struct RateLimitStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Counts one hit on `key` and says whether it is within `limit` hits per `window`.
    ///
    /// Denied hits are counted too (so hammering never looks quieter than it is) but never
    /// extend the window: it still ends `window` after the hit that started it.
    public func hit(_ key: String, limit: Int, window: Duration, now: Date) async throws -> RateLimitDecision {
        precondition(limit >= 1 && window >= .seconds(1), "a rate limit needs a limit ≥ 1 and a window ≥ 1 s")
        let windowEnd = now.addingTimeInterval(Self.seconds(window))
        // The row lock taken by ON CONFLICT DO UPDATE serialises concurrent hits on one key;
        // each sees the count including itself.
        let rows = try await pool.query(
            """
            INSERT INTO rate_limits AS r (key, hits, window_end) VALUES (\(key), 1, \(windowEnd))
            ON CONFLICT (key) DO UPDATE SET
                hits = CASE WHEN r.window_end <= \(now) THEN 1 ELSE r.hits + 1 END,
                window_end = CASE WHEN r.window_end <= \(now) THEN excluded.window_end ELSE r.window_end END
            RETURNING hits, window_end
            """)
        let hits = try rows[0].decode("hits", as: Int.self)
        let ends = try rows[0].decode("window_end", as: Date.self)
        guard hits <= limit else {
            return .denied(retryAfter: max(1, Int(ends.timeIntervalSince(now).rounded(.up))))
        }
        return .allowed(remaining: limit - hits)
    }

    /// One hit on each of several keys (distinct), with one statement: what ``hit(_:limit:window:now:)``
    /// decides for each, in the order given. `peek` keys are read, not hit: their counts in their
    /// current window (0 when none), for counters a caller keeps beside its limits.
    ///
    /// The statement commits asynchronously (`synchronous_commit = off` for it alone): a count
    /// lost to a crash in the last few milliseconds lets a handful more through once, while a
    /// durable commit would hold the row lock of a hot key (a whole country) through an fsync and
    /// serialise every request that shares it. Keys are locked in sorted order, so concurrent
    /// calls with overlapping keys cannot deadlock.
    public func hit(
        _ rules: [(key: String, limit: Int, window: Duration)], peek: [String] = [], now: Date
    ) async throws -> (decisions: [RateLimitDecision], peeked: [String: Int]) {
        precondition(rules.allSatisfy { $0.limit >= 1 && $0.window >= .seconds(1) }, "a rate limit needs a limit ≥ 1 and a window ≥ 1 s")
        precondition(Set(rules.map(\.key)).count == rules.count, "one hit per key")
        let sorted = rules.sorted { $0.key < $1.key }
        let keys = sorted.map(\.key)
        let ends = sorted.map { now.addingTimeInterval(Self.seconds($0.window)) }
        let rows = try await pool.query(
            """
            WITH async AS MATERIALIZED (SELECT set_config('synchronous_commit', 'off', true)),
            hit AS (
                INSERT INTO rate_limits AS r (key, hits, window_end)
                SELECT v.key, 1, v.window_end FROM unnest(\(keys)::text[], \(ends)::timestamptz[]) WITH ORDINALITY AS v(key, window_end, n)
                     CROSS JOIN async
                ORDER BY v.n
                ON CONFLICT (key) DO UPDATE SET
                    hits = CASE WHEN r.window_end <= \(now) THEN 1 ELSE r.hits + 1 END,
                    window_end = CASE WHEN r.window_end <= \(now) THEN excluded.window_end ELSE r.window_end END
                RETURNING key, hits, window_end
            )
            SELECT key, hits, window_end, true AS hit FROM hit
            UNION ALL
            SELECT key, hits, window_end, false FROM rate_limits WHERE key = ANY(\(peek)::text[]) AND window_end > \(now)
            """)
        var counts: [String: (hits: Int, ends: Date)] = [:]
        var peeked: [String: Int] = Dictionary(uniqueKeysWithValues: peek.map { ($0, 0) })
        for row in rows {
            let key: String = try row.decode(0)
            if try row.decode(3, as: Bool.self) {
                counts[key] = (try row.decode(1), try row.decode(2))
            } else {
                peeked[key] = try row.decode(1)
            }
        }
        let decisions = try rules.map { rule -> RateLimitDecision in
            guard let count = counts[rule.key] else { throw RateLimitError.missing }
            guard count.hits <= rule.limit else {
                return .denied(retryAfter: max(1, Int(count.ends.timeIntervalSince(now).rounded(.up))))
            }
            return .allowed(remaining: rule.limit - count.hits)
        }
        return (decisions, peeked)
    }

    /// Convenience for a ``RateLimit`` value.
    public func hit(_ key: String, _ rule: RateLimit, now: Date) async throws -> RateLimitDecision {
        try await hit(key, limit: rule.limit, window: rule.window, now: now)
    }

    /// Forgets `key`'s window (a successful login clears its failures).
    public func reset(_ key: String) async throws {
        try await pool.query("DELETE FROM rate_limits WHERE key = \(key)")
    }

    /// Forgets every key that starts with `prefix` (all of one account's counters).
    public func reset(keysStartingWith prefix: String) async throws {
        precondition(!prefix.isEmpty, "an empty prefix would forget every limit")
        // starts_with compares text as is, so `%` or `_` in a key mean nothing special.
        try await pool.query("DELETE FROM rate_limits WHERE starts_with(key, \(prefix))")
    }

    /// Housekeeping: deletes windows that ended before `date`; returns how many.
    @discardableResult
    public func purge(before date: Date) async throws -> Int {
        try await pool.query("DELETE FROM rate_limits WHERE window_end < \(date)").affectedRows
    }

    struct RateLimitError: Error {
        static let missing = RateLimitError()
    }

    static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
