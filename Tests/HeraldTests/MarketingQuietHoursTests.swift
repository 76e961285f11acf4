import Foundation
import Herald
import Testing

@Suite("Marketing sent through the API waits out quiet hours in the recipient's zone")
struct MarketingQuietHoursTests {
    /// Moves the clock forward to the next `hour:minute` in `zone`.
    static func move(_ herald: TestHerald, to hour: Int, _ minute: Int, in zone: TimeZone) -> Date {
        let now = herald.clock.now
        var wall = CampaignTime.local(now, in: zone)
        wall.hour = hour
        wall.minute = minute
        wall.second = 0
        var target = CampaignTime.instant(wall, in: zone)!
        if target <= now { target = target.addingTimeInterval(86_400) }
        herald.clock.advance(by: .milliseconds(Int64((target.timeIntervalSince(now) * 1000).rounded(.up))))
        return herald.clock.now
    }

    @Test("at 22:30 in Berlin a marketing message waits for 08:00 there; a contact in Tokyo waits for 08:00 in Tokyo; a code does not wait")
    func deferred() async throws {
        try await TestHerald.with { herald in
            let berlin = TimeZone(identifier: "Europe/Berlin")!
            let now = Self.move(herald, to: 22, 30, in: berlin)
            let nextMorning = CampaignTime.outsideQuietHours(now, quiet: QuietHours(start: LocalTime("21:00")!, end: LocalTime("08:00")!), zone: berlin)
            #expect(CampaignTime.local(nextMorning, in: berlin).hour == 8)

            // No contact: the number's zone (a German mobile: Berlin).
            let sale = try await herald.core.messages.send(
                SendMessageRequest(to: "+4915112345601", body: "Sale!", kind: "marketing"), apiKeyID: nil)
            #expect(abs(sale.scheduledAt.timeIntervalSince(nextMorning)) < 1)

            // A contact's own zone wins over the number's.
            _ = try await herald.core.contacts.upsert(ContactInput(phone: "+4915112345602", timezone: "Asia/Tokyo"), source: "api", actor: nil)
            let tokyo = TimeZone(identifier: "Asia/Tokyo")!
            let toTokyo = try await herald.core.messages.send(
                SendMessageRequest(to: "+4915112345602", body: "Sale!", kind: "marketing"), apiKeyID: nil)
            let tokyoHour = CampaignTime.local(now, in: tokyo).hour ?? 0
            if tokyoHour >= 8 && tokyoHour < 21 {
                #expect(abs(toTokyo.scheduledAt.timeIntervalSince(now)) < 5, "daytime in Tokyo: no wait")
            } else {
                #expect(CampaignTime.local(toTokyo.scheduledAt, in: tokyo).hour == 8)
                #expect(CampaignTime.local(toTokyo.scheduledAt, in: tokyo).minute == 0)
            }

            // Transactional messages are never held.
            let code = try await herald.core.messages.send(SendMessageRequest(to: "+4915112345601", body: "Your order shipped"), apiKeyID: nil)
            #expect(abs(code.scheduledAt.timeIntervalSince(now)) < 5)

            // And the dispatcher leaves the deferred one in the queue.
            let rows = try await herald.pool.query("SELECT status FROM messages WHERE id = \(sale.id)")
            #expect(try rows[0].decode(0, as: String.self) == "queued")
        }
    }

    @Test("with quiet hours switched off in settings, nothing waits")
    func switchedOff() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.core.settings.update(["quiet_hours": .null], actor: "test")
            let now = Self.move(herald, to: 23, 0, in: TimeZone(identifier: "Europe/Berlin")!)
            let sale = try await herald.core.messages.send(SendMessageRequest(to: "+4915112345601", body: "Sale!", kind: "marketing"), apiKeyID: nil)
            #expect(abs(sale.scheduledAt.timeIntervalSince(now)) < 5)
        }
    }
}
