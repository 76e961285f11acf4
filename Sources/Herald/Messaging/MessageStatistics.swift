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

/// Aggregates for the overview, read in one pass over the range and kept a few seconds, so a
/// dashboard full of people costs one query per range however large `messages` is.
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

    public func messages(hours: Int) async throws -> MessageStatistics {
        guard Self.hourRange.contains(hours) else {
            throw HeraldError.validation("hours", "must be a whole number from 1 to \(Self.hourRange.upperBound)")
        }
        return try await cache.value(for: hours) { [pool, clock] in
            let (first, last) = MessageStatistics.buckets(hours: hours, now: clock.now)
            let since = Date(timeIntervalSince1970: TimeInterval(first * 3600))
            // One scan of the range, grouped two ways: by hour and by provider.
            let rows = try await pool.query(
                """
                SELECT floor(extract(epoch FROM created_at) / 3600)::int8 AS hour, provider_id, status, count(*)::int8 AS n
                FROM messages
                WHERE created_at >= \(since)
                GROUP BY GROUPING SETS ((floor(extract(epoch FROM created_at) / 3600)::int8, status), (provider_id, status))
                """)
            var byHour: [Int64: [MessageStatus: Int]] = [:]
            var byProvider: [UUID: [MessageStatus: Int]] = [:]
            var totals: [MessageStatus: Int] = [:]
            for row in rows {
                guard let status = MessageStatus(rawValue: try row.decode("status")) else { continue }
                let count = Int(try row.decode("n", as: Int64.self))
                if let hour = try row.decode("hour", as: Int64?.self) {
                    byHour[hour, default: [:]][status, default: 0] += count
                    totals[status, default: 0] += count
                } else if let provider = try row.decode("provider_id", as: UUID?.self) {
                    byProvider[provider, default: [:]][status, default: 0] += count
                }
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
                MessageStatistics.Hour(start: Date(timeIntervalSince1970: TimeInterval(hour * 3600)), counts: byHour[hour] ?? [:])
            }
            return MessageStatistics(since: since, hours: hoursList, totals: totals, providers: providers)
        }
    }
}
