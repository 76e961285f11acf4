import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Herald

/// `GET /v1/message-stats`: per-hour counts by status and per-provider delivery rates for the
/// overview, from one aggregate.
@Suite(.serialized) struct StatisticsTests {
    @Test("hours are whole, zero-filled and in order; totals and each provider's delivery rate count only the range")
    func messageStatistics() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            let viewer = try await herald.bearer(["messages"])
            try await herald.test { client in
                let created = try await client.execute(uri: "/v1/providers", method: .post, headers: admin,
                                                       body: jsonBody(ProviderHTTPTests.twilio))
                let providerID = try #require(UUID(uuidString: created.json["id"] as? String ?? ""))
                let now = herald.clock.now
                // (hours ago, status, through the provider)
                let messages: [(Double, String, Bool)] = [
                    (0, "queued", false), (0, "delivered", true), (0, "delivered", true), (0.01, "failed", true),
                    (2, "delivered", true), (2, "undelivered", true), (5, "sent", true),
                    (30, "delivered", true), (30, "delivered", true), (200, "delivered", true),
                ]
                for (hoursAgo, status, routed) in messages {
                    try await herald.pool.query(
                        """
                        INSERT INTO messages (to_number, body, channel, kind, priority, status, encoding, segments, characters,
                                              provider_id, created_at)
                        VALUES ('+15005550006', 'x', 'sms', 'transactional', 0, \(status), 'GSM-7', 1, 1,
                                \(routed ? providerID : nil), \(now.addingTimeInterval(-hoursAgo * 3600)))
                        """)
                }
                func stats(_ query: String, as headers: HTTPFields) async throws -> TestResponse {
                    try await client.execute(uri: "/v1/message-stats\(query)", method: .get, headers: headers)
                }
                let day = try await stats("", as: viewer)
                #expect(day.status == .ok)
                let hours = day.json["hours"] as? [[String: Any]] ?? []
                #expect(hours.count == 24 && day.json["bucket_seconds"] as? Int == 3600)
                let starts = hours.compactMap { $0["start"] as? String }.compactMap { ISO8601DateFormatter().date(from: $0) }
                #expect(starts.count == 24 && zip(starts, starts.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 3600 })
                #expect(starts.allSatisfy { $0.timeIntervalSince1970.truncatingRemainder(dividingBy: 3600) == 0 })
                #expect(starts.last.map { now.timeIntervalSince($0) } .map { $0 >= 0 && $0 < 3600 } == true, "the last bucket is this hour")
                func count(_ hour: [String: Any], _ status: String) -> Int { (hour["counts"] as? [String: Int])?[status] ?? -1 }
                let sum = { (status: String) in hours.map { count($0, status) }.reduce(0, +) }
                #expect(sum("delivered") == 3 && sum("undelivered") == 1 && sum("failed") == 1 && sum("sent") == 1 && sum("queued") == 1)
                #expect(count(hours[23], "canceled") == 0, "every status is present, zeros included")
                let totals = day.json["totals"] as? [String: Int]
                #expect(totals?["delivered"] == 3 && totals?["queued"] == 1 && totals?.count == 7)
                let providers = day.json["providers"] as? [[String: Any]] ?? []
                #expect(providers.count == 1)
                #expect(providers.first?["name"] as? String == "Twilio US" && providers.first?["total"] as? Int == 6)
                #expect(providers.first?["delivery_rate"] as? Double == 0.6, "3 delivered of 5 whose fate is known")

                let week = try await stats("?hours=168", as: viewer)
                #expect((week.json["hours"] as? [[String: Any]])?.count == 168)
                #expect((week.json["totals"] as? [String: Int])?["delivered"] == 5)
                #expect(((week.json["providers"] as? [[String: Any]])?.first?["delivery_rate"] as? Double) == 0.714)

                for bad in ["0", "745", "a day", "-1"] {
                    let response = try await stats("?hours=\(bad.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", as: viewer)
                    #expect(response.status == .badRequest && response.errorField == "hours", "\(bad)")
                }
                #expect(try await stats("", as: try await herald.bearer(["contacts"])).status == .forbidden)
                #expect(try await stats("", as: [:]).status == .unauthorized)
            }
        }
    }

    @Test("hours older than two days are counted once into a summary, even by concurrent requests; recent hours stay live")
    func olderHoursCountedOnce() async throws {
        try await TestHerald.with { herald in
            let now = herald.clock.now
            func insert(hoursAgo: Double, status: String, count: Int = 1) async throws {
                try await herald.pool.query(
                    """
                    INSERT INTO messages (to_number, body, channel, kind, priority, status, encoding, segments, characters, created_at)
                    SELECT '+15005550006', 'x', 'sms', 'transactional', 0, \(status), 'GSM-7', 1, 1, \(now.addingTimeInterval(-hoursAgo * 3600))
                    FROM generate_series(1, \(count))
                    """)
            }
            try await insert(hoursAgo: 72, status: "delivered", count: 3)
            try await insert(hoursAgo: 100, status: "failed", count: 2)
            try await insert(hoursAgo: 1, status: "sent", count: 4)
            // Two ranges at once reaching the same old hours: each hour is counted by one of them.
            let service = herald.core.statistics
            async let week = service.messages(hours: 168)
            async let month = service.messages(hours: 700)
            let (a, b) = try await (week, month)
            for statistics in [a, b] {
                #expect(statistics.totals == [.delivered: 3, .failed: 2, .sent: 4])
            }
            let summarized = try await herald.pool.query("SELECT coalesce(sum(count), 0)::int8 AS n FROM message_hour_counts")
            #expect(try summarized[0].decode("n", as: Int64.self) == 5, "the old messages, each once")
            let counted = try await herald.pool.query("SELECT count(*)::int8 AS n FROM message_hours_counted")
            #expect(try counted[0].decode("n", as: Int64.self) == Int64(700 - StatisticsService.liveHours))

            // Later changes: an old hour keeps its count, a recent one follows.
            try await herald.pool.query("UPDATE messages SET status = 'delivered' WHERE status = 'sent'")
            try await herald.pool.query("UPDATE messages SET status = 'delivered' WHERE status = 'failed'")
            let later = try await service.messages(hours: 167)
            #expect(later.totals == [.delivered: 7, .failed: 2])
            let failedHour = try #require(later.hours.first { $0.counts[.failed] != nil })
            let age: TimeInterval = now.timeIntervalSince(failedHour.start)
            #expect(age > 99 * 3600 && age <= 101 * 3600)
        }
    }

    @Test("housekeeping counts the settled hours ahead of time, so nobody opening the overview waits for them")
    func housekeepingCountsAhead() async throws {
        try await TestHerald.with { herald in
            try await herald.pool.query(
                """
                INSERT INTO messages (to_number, body, channel, kind, priority, status, encoding, segments, characters, created_at)
                VALUES ('+15005550006', 'x', 'sms', 'transactional', 0, 'delivered', 'GSM-7', 1, 1,
                        \(herald.clock.now.addingTimeInterval(-300 * 3600)))
                """)
            await herald.core.workers.housekeeping.purge()
            let hours = try await herald.pool.query("SELECT count(*)::int8 AS n FROM message_hours_counted")
            #expect(try hours[0].decode("n", as: Int64.self) == Int64(StatisticsService.hourRange.upperBound - StatisticsService.liveHours))
            let counted = try await herald.pool.query("SELECT coalesce(sum(count), 0)::int8 AS n FROM message_hour_counts")
            #expect(try counted[0].decode("n", as: Int64.self) == 1)
            await herald.core.workers.housekeeping.purge()
            let again = try await herald.pool.query("SELECT coalesce(sum(count), 0)::int8 AS n FROM message_hour_counts")
            #expect(try again[0].decode("n", as: Int64.self) == 1, "a second pass counts nothing twice")
        }
    }

    @Test("an empty database charts empty hours and no providers")
    func empty() async throws {
        try await TestHerald.with { herald in
            let statistics = try await herald.core.statistics.messages(hours: 3)
            #expect(statistics.hours.count == 3 && statistics.hours.allSatisfy { $0.counts.isEmpty })
            #expect(statistics.providers.isEmpty && statistics.totals.isEmpty)
        }
    }
}
