import Foundation
import Postgres
import SMS

/// What the overview charts: messages per hour by status, and each provider's outcomes, over
/// the last `hours` hours.
public struct MessageStatistics: Sendable {
    public struct Hour: Sendable {
        /// The hour's start (UTC, whole hours).
        public let start: Date
        public let counts: [MessageStatus: Int]
    }

    public struct ProviderOutcomes: Sendable {
        public let id: UUID
        public let name: String
        public let counts: [MessageStatus: Int]

        /// Delivered among those whose fate is known (delivered, undelivered, failed); nil
        /// before any is known.
        public var deliveryRate: Double? {
            let known = (counts[.delivered] ?? 0) + (counts[.undelivered] ?? 0) + (counts[.failed] ?? 0)
            return known == 0 ? nil : Double(counts[.delivered] ?? 0) / Double(known)
        }
    }

    public let since: Date
    /// Every hour from `since` to now, oldest first, empty ones included.
    public let hours: [Hour]
    public let totals: [MessageStatus: Int]
    /// Providers that handled any message in the range, most used first.
    public let providers: [ProviderOutcomes]

    /// Whole hours: the range covers the current hour and the `hours - 1` before it.
    static func buckets(hours: Int, now: Date) -> (first: Int64, last: Int64) {
        let last = Int64((now.timeIntervalSince1970 / 3600).rounded(.down))
        return (last - Int64(hours) + 1, last)
    }
}

/// Aggregates for the overview, kept a few seconds, so a dashboard full of people costs one
/// computation per range however large `messages` is.
///
/// The last ``liveHours`` hours are counted from `messages` on every computation (receipts and
/// retries still change them). Older hours are counted once, the first time a range reaches
/// them, into `message_hour_counts`: a week or a month then costs two days of messages plus a
/// few hundred summary rows. A status that changes more than two days after a message was
/// created (a very late receipt) is not reflected in those hours.
public final class StatisticsService: Sendable {
    let pool: PostgresPool
    let clock: any HeraldClock
    private let cache: TTLCache<Int, MessageStatistics>

    init(pool: PostgresPool, clock: any HeraldClock, maximumAge: Duration = .seconds(10)) {
        self.pool = pool
        self.clock = clock
        self.cache = TTLCache(maximumAge: maximumAge, capacity: 8)
    }

    public static let hourRange = 1...(24 * 31)
    /// Hours counted from `messages` every time.
    public static let liveHours = 48

    public func messages(hours: Int) async throws -> MessageStatistics {
        guard Self.hourRange.contains(hours) else {
            throw HeraldError.validation("hours", "must be a whole number from 1 to \(Self.hourRange.upperBound)")
        }
        return try await cache.value(for: hours) { [self] in try await compute(hours: hours) }
    }

    /// Counts every settled hour of the longest range not counted yet (housekeeping calls it each
    /// minute, so nobody opening the overview waits for it; usually nothing or one hour to do).
    public func countSettledHours() async throws {
        let (first, last) = MessageStatistics.buckets(hours: Self.hourRange.upperBound, now: clock.now)
        try await countOlderHours(from: first, until: last - Int64(Self.liveHours) + 1)
    }

    /// (hour, provider, status, count) rows, summed over the range.
    private typealias Counts = [(hour: Int64, provider: UUID?, status: MessageStatus, count: Int)]

    private func compute(hours: Int) async throws -> MessageStatistics {
        let (first, last) = MessageStatistics.buckets(hours: hours, now: clock.now)
        let since = Date(timeIntervalSince1970: TimeInterval(first * 3600))
        let liveFrom = max(first, last - Int64(Self.liveHours) + 1)
        var rows: Counts = []
        if first < liveFrom {
            try await countOlderHours(from: first, until: liveFrom)
            rows += try await decode(pool.query(
                """
                SELECT (extract(epoch FROM hour) / 3600)::int8 AS hour, provider_id, status, sum(count)::int8 AS n
                FROM message_hour_counts
                WHERE hour >= \(since) AND hour < \(Self.date(liveFrom))
                GROUP BY 1, 2, 3
                """))
        }
        rows += try await decode(pool.query(
            """
            SELECT (extract(epoch FROM bucket) / 3600)::int8 AS hour, provider_id, status, n
            FROM (SELECT date_bin('1 hour', created_at, 'epoch') AS bucket, provider_id, status, count(*)::int8 AS n
                  FROM messages WHERE created_at >= \(Self.date(liveFrom))
                  GROUP BY 1, 2, 3) AS counted
            """))

        var byHour: [Int64: [MessageStatus: Int]] = [:]
        var byProvider: [UUID: [MessageStatus: Int]] = [:]
        var totals: [MessageStatus: Int] = [:]
        for row in rows where row.hour >= first {
            byHour[row.hour, default: [:]][row.status, default: 0] += row.count
            totals[row.status, default: 0] += row.count
            if let provider = row.provider { byProvider[provider, default: [:]][row.status, default: 0] += row.count }
        }
        var names: [UUID: String] = [:]
        if !byProvider.isEmpty {
            for row in try await pool.query("SELECT id, name FROM providers WHERE id = ANY(\(Array(byProvider.keys)))") {
                names[try row.decode("id")] = try row.decode("name")
            }
        }
        let providers = byProvider.map { id, counts in
            MessageStatistics.ProviderOutcomes(id: id, name: names[id] ?? "deleted provider", counts: counts)
        }.sorted { ($0.counts.values.reduce(0, +), $1.name) > ($1.counts.values.reduce(0, +), $0.name) }
        let hoursList = (first...last).map { hour in
            MessageStatistics.Hour(start: Self.date(hour), counts: byHour[hour] ?? [:])
        }
        return MessageStatistics(since: since, hours: hoursList, totals: totals, providers: providers)
    }

    /// Counts the hours in [`from`, `until`) not counted yet, once: under an advisory lock, so two
    /// processes charting at once never count an hour twice.
    private func countOlderHours(from: Int64, until: Int64) async throws {
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

    /// `pg_advisory_xact_lock` key of the hour counting ("herald:hour-counts").
    static let lockKey: Int64 = 0x4845_5241_4C44_4843

    static func date(_ hour: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(hour * 3600)) }

    private func decode(_ rows: PostgresRows) throws -> Counts {
        try rows.compactMap { row in
            guard let status = MessageStatus(rawValue: try row.decode("status")) else { return nil }
            return (try row.decode("hour"), try row.decode("provider_id"), status, Int(try row.decode("n", as: Int64.self)))
        }
    }
}
