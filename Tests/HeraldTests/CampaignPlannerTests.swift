import Foundation
import SMS
import Testing
@testable import Herald

/// The pure rules of campaigns: who is skipped and why, when each recipient's message may go,
/// what it says, how a throttle spaces sends, and how request bodies are read.
@Suite struct CampaignPlannerTests {
    static func template(_ body: String = "Hi {{first_name}}", kind: Template.Kind = .marketing, channel: Template.Channel = .sms,
                         translations: [String: String] = [:]) -> Template {
        Template(id: UUID(), name: "t", channel: channel, kind: kind, body: body, translations: translations, createdAt: Date(), updatedAt: Date())
    }

    static func planner(_ template: Template = template(), schedule: Campaign.Schedule = .none, quiet: QuietHours? = nil,
                        cap: Settings.FrequencyCap? = nil, launchedAt: Date = Date(timeIntervalSince1970: 1_800_000_000)) throws -> CampaignPlanner {
        try CampaignPlanner(template: template, schedule: schedule, quietHours: quiet, frequencyCap: cap, footer: "Reply STOP to opt out",
                            optOutKeywords: ["STOP", "UNSUBSCRIBE"], launchedAt: launchedAt)
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static func someone(_ phone: String? = "+4915112345678", lineType: String? = "mobile") -> CampaignPlanner.Recipient {
        CampaignPlanner.Recipient(contactID: UUID(), phone: phone, firstName: "Ann", lineType: lineType)
    }

    @Test("each reason to leave a recipient out, checked in order")
    func reasons() throws {
        let planner = try Self.planner(cap: Settings.FrequencyCap(max: 3, windowHours: 168))
        #expect(planner.decide(Self.someone(nil), now: Self.now) == .skip(.deleted))
        var r = Self.someone()
        r.subscribed = false
        #expect(planner.decide(r, now: Self.now) == .skip(.unsubscribed))
        #expect(planner.decide(Self.someone(lineType: "fixed_line"), now: Self.now) == .skip(.notMobile))
        #expect(planner.decide(Self.someone(lineType: "voip"), now: Self.now) == .skip(.notMobile))
        #expect(planner.decide(Self.someone(lineType: "unknown"), now: Self.now) == .skip(.invalidNumber))
        r = Self.someone()
        r.recentMarketing = 3
        #expect(planner.decide(r, now: Self.now) == .skip(.frequencyCapped))
        r.recentMarketing = 2
        if case .send = planner.decide(r, now: Self.now) {} else { Issue.record("two of three: still sent") }
        // No stored type: libphonenumber decides (a Berlin landline, a German mobile, nonsense).
        #expect(planner.decide(Self.someone("+493012345678", lineType: nil), now: Self.now) == .skip(.notMobile))
        if case .send = planner.decide(Self.someone("+4915112345678", lineType: nil), now: Self.now) {} else { Issue.record("a mobile is sent") }
        #expect(planner.decide(Self.someone("+4900000", lineType: nil), now: Self.now) == .skip(.invalidNumber))
        // A voice campaign calls landlines.
        let voice = try Self.planner(Self.template(channel: .voice))
        if case .send = voice.decide(Self.someone(lineType: "fixed_line"), now: Self.now) {} else { Issue.record("voice reaches a landline") }
    }

    @Test("the text: the contact's fields and attributes, the locale's translation, the footer unless the text tells how to opt out")
    func text() throws {
        var r = Self.someone()
        r.attributes = ["plan": .string("pro"), "orders": .number(3)]
        r.locale = "de-AT"
        let planner = try Self.planner(Self.template("Hi {{first_name}}, {{plan}} / {{attributes.orders}}", translations: ["de": "Hallo {{first_name}} ({{plan}})"]))
        guard case .send(let body, let text, let locale, _) = planner.decide(r, now: Self.now) else { Issue.record("sent"); return }
        #expect(body == "Hallo Ann (pro)\nReply STOP to opt out")
        #expect(locale == "de")
        #expect(text.segments == 1)
        r.locale = nil
        guard case .send(let english, _, _, _) = planner.decide(r, now: Self.now) else { Issue.record("sent"); return }
        #expect(english == "Hi Ann, pro / 3\nReply STOP to opt out")
        // An attribute the contact lacks: skipped, not sent with a hole.
        r.attributes = [:]
        #expect(planner.decide(r, now: Self.now) == .skip(.missingVariable))
        // Unset fields print as nothing rather than leaving the contact out.
        let optional = try Self.planner(Self.template("Hi {{first_name}}{{last_name}}! Text STOP to stop"))
        guard case .send(let bare, _, _, _) = optional.decide(Self.someone(), now: Self.now) else { Issue.record("sent"); return }
        #expect(bare == "Hi Ann! Text STOP to stop", "says how to opt out already: no footer")
        // Transactional templates get no footer.
        let plain = try Self.planner(Self.template("Your order shipped", kind: .transactional))
        guard case .send(let shipped, _, _, _) = plain.decide(Self.someone(), now: Self.now) else { Issue.record("sent"); return }
        #expect(shipped == "Your order shipped")
    }

    static func wall(_ text: String) -> DateComponents { CampaignDraft.wallClock(text)! }
    static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test("local time across daylight saving: a skipped 02:30 moves forward by the gap, a repeated one is the first; quiet hours defer to their end")
    func localTimes() throws {
        let berlin = TimeZone(identifier: "Europe/Berlin")!
        var r = Self.someone()
        r.timezone = "Europe/Berlin"
        let early = Self.utc("2026-03-01T00:00:00Z")
        // 29 March 2026: 02:00 → 03:00 in Berlin; 02:30 does not exist.
        let spring = try Self.planner(schedule: .local(Self.wall("2026-03-29T02:30:00"), fallback: berlin))
        #expect(spring.decide(r, now: early) == .later(Self.utc("2026-03-29T01:30:00Z")), "03:30 CEST")
        // 25 October 2026: 03:00 → 02:00; 02:30 happens twice: the first (CEST, UTC+2).
        let autumn = try Self.planner(schedule: .local(Self.wall("2026-10-25T02:30:00"), fallback: berlin))
        #expect(autumn.decide(r, now: early) == .later(Self.utc("2026-10-25T00:30:00Z")))
        // Quiet hours 21:00–08:00: a 22:00 local time goes at 08:00 the next morning.
        let late = try Self.planner(schedule: .local(Self.wall("2026-06-10T22:00:00"), fallback: berlin),
                                    quiet: QuietHours(start: LocalTime("21:00")!, end: LocalTime("08:00")!))
        #expect(late.decide(r, now: early) == .later(Self.utc("2026-06-11T06:00:00Z")))
        // Due now (within the look-ahead): sent, with its exact time.
        let due = Self.utc("2026-06-10T19:59:59Z")
        let atTen = try Self.planner(schedule: .local(Self.wall("2026-06-10T22:00:00"), fallback: berlin))
        guard case .send(_, _, _, let sendAfter) = atTen.decide(r, now: due) else { Issue.record("due"); return }
        #expect(sendAfter == Self.utc("2026-06-10T20:00:00Z"))
        // Past: at once. No zone on the contact: the number's (a +81 number is in Tokyo).
        r.timezone = nil
        r.phone = "+819012345678"
        #expect(try Self.planner(schedule: .local(Self.wall("2026-06-10T10:00:00"), fallback: berlin)).decide(r, now: early)
                == .later(Self.utc("2026-06-10T01:00:00Z")))
    }

    @Test("a throttle spaces sends one slot apart; deferred recipients take no slot")
    func throttleSpacing() throws {
        let planner = try Self.planner(schedule: .none)
        var recipients = (0..<5).map { _ in Self.someone() }
        recipients[2].timezone = "Europe/Berlin"
        let quiet = try Self.planner(schedule: .at(Self.now.addingTimeInterval(3600)))
        let (decisions, next) = CampaignService.plan(recipients, planner: planner, now: Self.now, slotStart: Self.now, throttle: 4)
        let times = decisions.compactMap { decision -> Date? in if case .send(_, _, _, let at) = decision { return at }; return nil }
        #expect(times == (0..<5).map { Self.now.addingTimeInterval(Double($0) * 0.25) })
        #expect(next == Self.now.addingTimeInterval(1.25))
        let (later, nextSlot) = CampaignService.plan(recipients, planner: quiet, now: Self.now, slotStart: Self.now, throttle: 4)
        #expect(later.allSatisfy { if case .later = $0 { true } else { false } })
        #expect(nextSlot == Self.now, "nothing sent, no slot used")
        let (_, unthrottled) = CampaignService.plan(recipients, planner: planner, now: Self.now, slotStart: Self.now, throttle: nil)
        #expect(unthrottled == nil)
    }

    @Test("request bodies: every bad field named", arguments: [
        (["template_id": JSONValue.string(UUID().uuidString)], "name"),
        (["name": "x"], "template_id"),
        (["name": "x", "template_id": "nope"], "template_id"),
        (["name": "", "template_id": .string(UUID().uuidString)], "name"),
        (["name": "x", "template_id": .string(UUID().uuidString), "colour": "red"], "colour"),
        (["name": "x", "template_id": .string(UUID().uuidString), "throttle_per_second": 0], "throttle_per_second"),
        (["name": "x", "template_id": .string(UUID().uuidString), "throttle_per_second": 1.5], "throttle_per_second"),
        (["name": "x", "template_id": .string(UUID().uuidString), "sender": "<script>"], "sender"),
        (["name": "x", "template_id": .string(UUID().uuidString), "schedule": .object([:])], "schedule"),
        (["name": "x", "template_id": .string(UUID().uuidString), "schedule": .object(["send_at": "tomorrow"])], "schedule.send_at"),
        (["name": "x", "template_id": .string(UUID().uuidString),
          "schedule": .object(["send_at": "2026-12-01T09:00:00Z", "local_time": "2026-12-01T10:00:00"])], "schedule.local_time"),
        (["name": "x", "template_id": .string(UUID().uuidString), "schedule": .object(["local_time": "2026-02-30T10:00:00", "fallback_timezone": "UTC"])], "schedule.local_time"),
        (["name": "x", "template_id": .string(UUID().uuidString), "schedule": .object(["local_time": "2026-12-01T10:00:00+01:00", "fallback_timezone": "UTC"])], "schedule.local_time"),
        (["name": "x", "template_id": .string(UUID().uuidString), "schedule": .object(["local_time": "2026-12-01T10:00:00"])], "schedule.fallback_timezone"),
        (["name": "x", "template_id": .string(UUID().uuidString), "schedule": .object(["local_time": "2026-12-01T10:00:00", "fallback_timezone": "Mars/Olympus"])], "schedule.fallback_timezone"),
        (["name": "x", "template_id": .string(UUID().uuidString), "quiet_hours": .object(["start": "25:00", "end": "08:00"])], "quiet_hours.start"),
        (["name": "x", "template_id": .string(UUID().uuidString), "quiet_hours": .object(["start": "08:00", "end": "08:00"])], "quiet_hours.end"),
        (["name": "x", "template_id": .string(UUID().uuidString), "quiet_hours": "always"], "quiet_hours"),
        (["name": "x", "template_id": .string(UUID().uuidString), "frequency_cap": .object(["max": 0, "window_hours": 24])], "frequency_cap.max"),
        (["name": "x", "template_id": .string(UUID().uuidString), "frequency_cap": .object(["max": 1, "window_hours": 24, "x": 1])], "frequency_cap.x"),
    ] as [([String: JSONValue], String)])
    func badBodies(body: [String: JSONValue], field: String) {
        #expect(throws: HeraldError.self) { try CampaignDraft.parse(body, creating: true) }
        do { _ = try CampaignDraft.parse(body, creating: true) } catch { #expect(error.field == field) }
    }

    @Test("request bodies: absent, null and \"settings\" mean different things")
    func policies() throws {
        let id = UUID()
        let plain = try CampaignDraft.parse(["name": " Sale ", "template_id": .string(id.uuidString)], creating: true)
        #expect(plain.name == "Sale" && plain.templateID == id && plain.quietHours == nil && plain.schedule == nil)
        let none = try CampaignDraft.parse(["quiet_hours": .null, "frequency_cap": .null, "segment_id": .null, "schedule": .null], creating: false)
        #expect(none.quietHours == Campaign.Policy.none && none.frequencyCap == Campaign.Policy.none)
        #expect(none.segmentID == .some(nil) && none.schedule == Campaign.Schedule.none)
        let own = try CampaignDraft.parse(["quiet_hours": .object(["start": "22:00", "end": "7:30"]), "frequency_cap": "settings"], creating: false)
        #expect(own.quietHours == .custom(Settings.QuietHours(start: 22 * 60, end: 7 * 60 + 30)) && own.frequencyCap == .settings)
        #expect(Campaign.Policy<Int>.settings.resolved(5) == 5 && Campaign.Policy<Int>.none.resolved(5) == nil && Campaign.Policy.custom(2).resolved(5) == 2)
    }
}
