import Foundation
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
/// them (or housekeeping does, ahead of time), into `message_hour_counts`: a week or a month
/// then costs two days of messages plus a few hundred summary rows. A status that changes more
/// than two days after a message was created (a very late receipt) is not reflected there.
public final class StatisticsService: Sendable {
    let store: StatisticsStore
    let clock: any HeraldClock
    private let cache: TTLCache<Int, MessageStatistics>

    init(store: StatisticsStore, clock: any HeraldClock, maximumAge: Duration = .seconds(10)) {
        self.store = store
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
        try await store.countHours(from: first, until: last - Int64(Self.liveHours) + 1)
    }

    private func compute(hours: Int) async throws -> MessageStatistics {
        let (first, last) = MessageStatistics.buckets(hours: hours, now: clock.now)
        let liveFrom = max(first, last - Int64(Self.liveHours) + 1)
        var rows: [StatisticsStore.Count] = []
        if first < liveFrom {
            try await store.countHours(from: first, until: liveFrom)
            rows += try await store.countedHours(from: first, until: liveFrom)
        }
        rows += try await store.liveHours(from: liveFrom)

        var byHour: [Int64: [MessageStatus: Int]] = [:]
        var byProvider: [UUID: [MessageStatus: Int]] = [:]
        var totals: [MessageStatus: Int] = [:]
        for row in rows where row.hour >= first {
            byHour[row.hour, default: [:]][row.status, default: 0] += row.count
            totals[row.status, default: 0] += row.count
            if let provider = row.provider { byProvider[provider, default: [:]][row.status, default: 0] += row.count }
        }
        let names = byProvider.isEmpty ? [:] : try await store.providerNames(Array(byProvider.keys))
        let providers = byProvider.map { id, counts in
            MessageStatistics.ProviderOutcomes(id: id, name: names[id] ?? "deleted provider", counts: counts)
        }.sorted { ($0.counts.values.reduce(0, +), $1.name) > ($1.counts.values.reduce(0, +), $0.name) }
        let hoursList = (first...last).map { hour in
            MessageStatistics.Hour(start: StatisticsStore.date(hour), counts: byHour[hour] ?? [:])
        }
        return MessageStatistics(since: StatisticsStore.date(first), hours: hoursList, totals: totals, providers: providers)
    }
}
