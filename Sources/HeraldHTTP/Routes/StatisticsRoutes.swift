import Foundation
import Herald
import Hummingbird
import SMS

/// `GET /v1/message-stats?hours=24` (scope messages): what the overview charts — messages per
/// hour by status and each provider's delivery rate — from one aggregate, never a list.
struct StatisticsRoutes {
    let statistics: StatisticsService

    /// Every status with its count, zeros included, so a chart needs no defaults.
    static func counts(_ counts: [MessageStatus: Int]) -> [String: Int] {
        Dictionary(uniqueKeysWithValues: MessageStatus.allCases.map { ($0.rawValue, counts[$0] ?? 0) })
    }

    struct HourBody: Encodable {
        let start: Date
        let counts: [String: Int]
    }

    struct ProviderBody: Encodable {
        let id: String
        let name: String
        let total: Int
        let counts: [String: Int]
        @Nullable var deliveryRate: Double?

        enum CodingKeys: String, CodingKey { case id, name, total, counts, deliveryRate = "delivery_rate" }
    }

    struct StatisticsBody: Encodable {
        let since: Date
        let bucketSeconds = 3600
        let hours: [HourBody]
        let totals: [String: Int]
        let providers: [ProviderBody]

        enum CodingKeys: String, CodingKey { case since, bucketSeconds = "bucket_seconds", hours, totals, providers }

        init(_ statistics: MessageStatistics) {
            since = statistics.since
            hours = statistics.hours.map { HourBody(start: $0.start, counts: StatisticsRoutes.counts($0.counts)) }
            totals = StatisticsRoutes.counts(statistics.totals)
            providers = statistics.providers.map { provider in
                ProviderBody(id: provider.id.wire, name: provider.name, total: provider.counts.values.reduce(0, +),
                             counts: StatisticsRoutes.counts(provider.counts),
                             deliveryRate: provider.deliveryRate.map { ($0 * 1000).rounded() / 1000 })
            }
        }
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/message-stats") { request, context in
            try context.require(.messages, write: false)
            let hours = try request.hoursParameter(StatisticsService.hourRange, default: 24)
            return try JSON.response(StatisticsBody(try await statistics.messages(hours: hours)))
        }
    }
}
