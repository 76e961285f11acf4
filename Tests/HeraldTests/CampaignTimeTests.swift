import Foundation
import Herald
import Phone
import Testing

@Suite("Recipient-local time: zones, daylight-saving gaps and overlaps, quiet hours")
struct CampaignTimeTests {
    static func zone(_ name: String) -> TimeZone { TimeZone(identifier: name)! }
    static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    static func local(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int) -> DateComponents {
        DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: 0)
    }

    @Test("10:00 local in Tokyo, Berlin and New York")
    func tenOClock() {
        #expect(CampaignTime.instant(Self.local(2026, 12, 1, 10, 0), in: Self.zone("Asia/Tokyo")) == Self.utc("2026-12-01T01:00:00Z"))
        #expect(CampaignTime.instant(Self.local(2026, 12, 1, 10, 0), in: Self.zone("Europe/Berlin")) == Self.utc("2026-12-01T09:00:00Z"))
        #expect(CampaignTime.instant(Self.local(2026, 12, 1, 10, 0), in: Self.zone("America/New_York")) == Self.utc("2026-12-01T15:00:00Z"))
        #expect(CampaignTime.instant(Self.local(2026, 7, 1, 10, 0), in: Self.zone("America/New_York")) == Self.utc("2026-07-01T14:00:00Z"))
    }

    @Test("a time the clocks skip moves forward by the gap; a time that happens twice is the first", arguments: [
        ("Europe/Berlin", (2026, 3, 29, 2, 30), "2026-03-29T01:30:00Z"),   // 02:30 does not exist: 03:30 CEST
        ("Europe/Berlin", (2026, 10, 25, 2, 30), "2026-10-25T00:30:00Z"),  // 02:30 CEST, not 02:30 CET
        ("America/New_York", (2026, 3, 8, 2, 30), "2026-03-08T07:30:00Z"), // 03:30 EDT
        ("America/New_York", (2026, 11, 1, 1, 30), "2026-11-01T05:30:00Z"), // 01:30 EDT, the first
        ("Australia/Lord_Howe", (2026, 10, 4, 2, 15), "2026-10-03T15:45:00Z"), // a 30-minute jump: 02:45 +11:00
        ("Asia/Tokyo", (2026, 3, 29, 2, 30), "2026-03-28T17:30:00Z"),      // no daylight saving at all
    ] as [(String, (Int, Int, Int, Int, Int), String)])
    func daylightSaving(zone: String, wall: (Int, Int, Int, Int, Int), expected: String) {
        let instant = CampaignTime.instant(Self.local(wall.0, wall.1, wall.2, wall.3, wall.4), in: Self.zone(zone))
        #expect(instant == Self.utc(expected))
    }

    @Test("every wall time of a year reads back as itself, or lands just past a gap")
    func roundTrip() {
        for name in ["Europe/Berlin", "America/New_York", "Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata"] {
            let zone = Self.zone(name)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            for day in stride(from: 0, to: 366, by: 1) {
                for (hour, minute) in [(0, 0), (1, 30), (2, 0), (2, 30), (3, 0), (12, 45), (23, 59)] {
                    let date = calendar.date(byAdding: .day, value: day, to: Self.utc("2026-01-01T12:00:00Z"))!
                    var wall = calendar.dateComponents([.year, .month, .day], from: date)
                    wall.hour = hour
                    wall.minute = minute
                    wall.second = 0
                    guard let instant = CampaignTime.instant(wall, in: zone) else { Issue.record("\(name) \(wall)"); continue }
                    let back = CampaignTime.local(instant, in: zone)
                    let same = back.hour == hour && back.minute == minute && back.day == wall.day
                    // Only inside a gap may it differ, and then by less than the gap (at most 2 h).
                    let sameDay = back.day == wall.day
                    let drift = ((back.hour ?? 0) * 60 + (back.minute ?? 0)) - (hour * 60 + minute)
                    #expect(same || (sameDay && drift > 0 && drift <= 120), "\(name) \(wall) → \(back)")
                }
            }
        }
    }

    @Test("quiet hours defer to the next allowed minute in the recipient's zone")
    func quietHours() {
        let quiet = QuietHours(start: LocalTime("21:00")!, end: LocalTime("08:00")!)
        let berlin = Self.zone("Europe/Berlin")
        // 22:30 Berlin (21:30Z) → 08:00 next day (07:00Z).
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-01T21:30:00Z"), quiet: quiet, zone: berlin) == Self.utc("2026-12-02T07:00:00Z"))
        // 06:00 Berlin → 08:00 the same day.
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-02T05:00:00Z"), quiet: quiet, zone: berlin) == Self.utc("2026-12-02T07:00:00Z"))
        // 10:00 Berlin: allowed as is; 08:00 exactly is allowed, 21:00 exactly is not.
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-02T09:00:00Z"), quiet: quiet, zone: berlin) == Self.utc("2026-12-02T09:00:00Z"))
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-02T07:00:00Z"), quiet: quiet, zone: berlin) == Self.utc("2026-12-02T07:00:00Z"))
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-02T20:00:00Z"), quiet: quiet, zone: berlin) == Self.utc("2026-12-03T07:00:00Z"))
        // Across the spring-forward night: 23:00 on 28 March → 08:00 CEST on 29 March (06:00Z).
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-03-28T22:00:00Z"), quiet: quiet, zone: berlin) == Self.utc("2026-03-29T06:00:00Z"))
        // A window inside one day (12:00–14:00) and none at all.
        let lunch = QuietHours(start: LocalTime("12:00")!, end: LocalTime("14:00")!)
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-02T11:30:00Z"), quiet: lunch, zone: berlin) == Self.utc("2026-12-02T13:00:00Z"))
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-02T21:30:00Z"), quiet: nil, zone: berlin) == Self.utc("2026-12-02T21:30:00Z"))
        #expect(CampaignTime.outsideQuietHours(Self.utc("2026-12-02T21:30:00Z"), quiet: QuietHours(start: LocalTime("09:00")!, end: LocalTime("09:00")!), zone: berlin)
            == Self.utc("2026-12-02T21:30:00Z"))
    }

    @Test("a recipient's zone: their own, else the number's when it has one, else the fallback")
    func zones() {
        let fallback = Self.zone("Europe/London")
        #expect(CampaignTime.zone(contactTimezone: "Asia/Tokyo", phone: "+4915112345678", fallback: fallback).identifier == "Asia/Tokyo")
        #expect(CampaignTime.zone(contactTimezone: nil, phone: "+4915112345678", fallback: fallback).identifier == "Europe/Berlin")
        #expect(CampaignTime.zone(contactTimezone: nil, phone: "+14155550100", fallback: fallback).identifier == "America/Los_Angeles")
        #expect(CampaignTime.zone(contactTimezone: nil, phone: "+12125550100", fallback: fallback).identifier == "America/New_York")
        #expect(CampaignTime.zone(contactTimezone: nil, phone: "+79161234567", fallback: fallback).identifier == "Europe/Moscow")
        // A range of several zones (Idaho's 208) takes the fallback; so does an unknown contact zone then.
        #expect(CampaignTime.zone(contactTimezone: nil, phone: "+12083201234", fallback: fallback).identifier == "Europe/London")
        #expect(CampaignTime.zone(contactTimezone: "Not/AZone", phone: "+12083201234", fallback: fallback).identifier == "Europe/London")
    }

    @Test("times of day: HH:MM only")
    func localTimes() {
        #expect(LocalTime("21:00")?.description == "21:00")
        #expect(LocalTime("8:05")?.description == "08:05")
        for bad in ["24:00", "12:60", "12", "12:5", "ab:cd", "-1:00", "12:00:00", "", "１２:００"] {
            #expect(LocalTime(bad) == nil, "\(bad)")
        }
    }
}
