import Foundation
import Postgres
import SMS
import Synchronization
import Testing
@testable import Herald

/// Campaigns end to end: the real database, the real dispatcher, a provider on loopback HTTP
/// that records every request (the "simulator log" each recipient is counted in).
@Suite(.serialized) struct CampaignTests {
    /// Quick retries, but a provider timeout long enough that a loaded test machine never times
    /// out a request the provider did receive (a retry would then reach someone twice, which is
    /// the dispatcher's documented behaviour on timeouts, not what these tests are about).
    static var fast: DispatcherConfiguration {
        var configuration = DispatcherTests.fast
        configuration.providerTimeout = .seconds(30)
        return configuration
    }

    /// `count` contacts numbered from `first` (+1 415 2xx xxxx), through one statement.
    static func seed(
        _ herald: TestHerald, count: Int, first: Int = 0, tags: [String] = ["vip"], lineType: String = "fixed_line_or_mobile",
        subscribed: Bool = true
    ) async throws {
        try await herald.pool.query(
            """
            INSERT INTO contacts (phone, country, line_type, tags, subscribed, first_name)
            SELECT '+1415' || (2000000 + g)::text, 'US', \(lineType), \(tags), \(subscribed), 'Ann' || g
            FROM generate_series(\(first), \(first + count - 1)) g
            """)
    }

    static func phone(_ n: Int) -> String { "+1415" + String(2_000_000 + n) }

    static func template(_ herald: TestHerald, _ body: String = "Hi {{first_name}}, 20% off today", kind: String = "marketing",
                         translations: [String: String] = [:]) async throws -> Template {
        try await herald.core.templates.create(TemplateInput(name: "t-\(UUID().uuidString.prefix(8).lowercased())", kind: kind, body: body,
                                                             translations: translations))
    }

    static func segment(_ herald: TestHerald, tag: String = "vip") async throws -> UUID {
        try await herald.core.segments.create(name: "s-\(UUID().uuidString.prefix(8))",
                                              rule: .object(["all": .array([.object(["field": "tags", "op": "has", "value": .string(tag)])])]))
            .segment.id
    }

    static func httpProvider(_ herald: TestHerald, url: String) async throws {
        _ = try await herald.core.providers.create(ProviderInput(
            name: "scripted", type: "http", config: ["url": .string(url), "id_path": .string("id")], priority: 1))
    }

    /// Runs every worker while `body` runs.
    static func withWorkers<T: Sendable>(_ herald: TestHerald, _ body: @Sendable () async throws -> T) async throws -> T {
        let workers = herald.core.workers.all
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers { group.addTask { try await worker.run() } }
            defer { group.cancelAll() }
            return try await body()
        }
    }

    static func waitFor(_ what: String, timeout: Duration = .seconds(120), _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("\(what): not within \(timeout)")
        throw WaitTimedOut(timeout: timeout)
    }

    /// The `to` of every request the provider received, counted.
    static func received(_ server: ScriptedProvider) -> [String: Int] {
        var counts: [String: Int] = [:]
        for request in server.requests {
            guard let object = try? JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any],
                  let to = object["to"] as? String else { continue }
            counts[to, default: 0] += 1
        }
        return counts
    }

    static let answerOK: @Sendable (String, String, Int) -> ScriptedProvider.Answer = { _, _, n in
        .init(status: 200, body: #"{"id":"p-\#(n)"}"#)
    }

    @Test("10,000 contacts: exactly one message to every subscribed, valid, uncapped member of the segment, none to anyone else; the estimate matched")
    func tenThousand() async throws {
        try await heavy { try await TestHerald.with(dispatcher: Self.fast) { herald in
            // 10,000 in the segment: 0..<10,000. Unsubscribed: every 10th. Landlines: every 25th
            // of the rest. Capped: 300 others that already had two marketing messages this week.
            try await Self.seed(herald, count: 10_000)
            try await Self.seed(herald, count: 2_000, first: 20_000, tags: ["other"])
            try await herald.pool.query("UPDATE contacts SET subscribed = false WHERE (substr(phone, 6)::int - 2000000) % 10 = 0 AND phone < '+14152010000'")
            try await herald.pool.query(
                """
                UPDATE contacts SET line_type = 'fixed_line'
                WHERE (substr(phone, 6)::int - 2000000) % 25 = 0 AND (substr(phone, 6)::int - 2000000) % 10 <> 0 AND phone < '+14152010000'
                """)
            var cappedPhones: [String] = []
            var n = 1
            while cappedPhones.count < 300 { if n % 10 != 0 && n % 25 != 0 { cappedPhones.append(Self.phone(n)) }; n += 7 }
            let capped = cappedPhones
            for _ in 0..<2 {
                try await herald.pool.query(
                    """
                    INSERT INTO messages (to_number, body, channel, kind, priority, status, encoding, segments, characters, created_at)
                    SELECT p, 'earlier sale', 'sms', 'marketing', 1, 'sent', 'GSM-7', 1, 12, now() - interval '1 day' FROM unnest(\(capped)::text[]) p
                    """)
            }
            let unsubscribed = 1000, landlines = (0..<10_000).filter { $0 % 25 == 0 && $0 % 10 != 0 }.count
            let expected = 10_000 - unsubscribed - landlines - 300

            let template = try await Self.template(herald)
            let campaign = try await herald.core.campaigns.create(
                ["name": "December sale", "template_id": .string(template.id.uuidString), "segment_id": .string(try await Self.segment(herald).uuidString),
                 "quiet_hours": .null, "frequency_cap": .object(["max": 2, "window_hours": 168])], actor: "test")
            let estimate = try await herald.core.campaigns.estimate(id: campaign.id)
            #expect(estimate.recipients == expected)
            #expect(estimate.excluded == [.unsubscribed: unsubscribed, .notMobile: landlines, .frequencyCapped: 300, .invalidNumber: 0])
            #expect(estimate.segmentsTotal == expected * 1, "each text fits one part with its footer")
            #expect(!estimate.frozen)

            try await ScriptedProvider.run(answer: Self.answerOK) { server in
                try await Self.httpProvider(herald, url: server.baseURL + "/sms")
                try await Self.withWorkers(herald) {
                    _ = try await herald.core.campaigns.send(id: campaign.id)
                    try await Self.waitFor("the campaign completes", timeout: .seconds(240)) {
                        try await herald.core.campaigns.campaign(id: campaign.id).status == .completed
                    }
                }
                let received = Self.received(server)
                let retried = try await herald.pool.query(
                    "SELECT count(*)::int FROM messages WHERE campaign_id = \(campaign.id) AND attempts > 1")[0].decode(0, as: Int.self)
                #expect(received.count == expected)
                #expect(received.values.allSatisfy { $0 == 1 }, "nobody received two (\(retried) messages were retried)")
                let wanted = Set((0..<10_000).filter { $0 % 10 != 0 && $0 % 25 != 0 }.map(Self.phone)).subtracting(capped)
                #expect(Set(received.keys) == wanted)
            }
            let stats = try await herald.core.campaigns.stats(id: campaign.id)
            #expect(stats.recipients == expected && stats.sent == expected && stats.excluded == 10_000 - expected)
            #expect(stats.queued == 0 && stats.failed == 0 && stats.skipped == 0)
            let after = try await herald.core.campaigns.estimate(id: campaign.id)
            #expect(after.frozen && after.recipients == estimate.recipients && after.excluded == estimate.excluded)
            // The body was rendered per contact, with the footer.
            let one = try await herald.pool.query("SELECT body FROM messages WHERE campaign_id = \(campaign.id) AND to_number = \(Self.phone(2))")
            #expect(try #require(one.first).decode(0, as: String.self) == "Hi Ann2, 20% off today\nReply STOP to opt out")
        } }
    }

    @Test("paused at random moments under load and resumed twice: every recipient received exactly one message, none skipped")
    func pauseResume() async throws {
        try await heavy { try await TestHerald.with(dispatcher: Self.fast) { herald in
            let total = 3000
            try await Self.seed(herald, count: total)
            let template = try await Self.template(herald)
            let campaign = try await herald.core.campaigns.create(
                ["name": "Pause me", "template_id": .string(template.id.uuidString), "quiet_hours": .null], actor: nil)
            try await ScriptedProvider.run(answer: { _, _, n in .init(status: 200, body: #"{"id":"p-\#(n)"}"#, delay: .milliseconds(2)) }) { server in
                try await Self.httpProvider(herald, url: server.baseURL + "/sms")
                try await Self.withWorkers(herald) {
                    _ = try await herald.core.campaigns.send(id: campaign.id)
                    for round in 0..<2 {
                        let at = Int.random(in: (300 + round * 1000)...(900 + round * 1000))
                        try await Self.waitFor("\(at) requests") { server.requests.count >= at }
                        let paused = try await herald.core.campaigns.pause(id: campaign.id)
                        #expect(paused.status == .paused)
                        let queued = try await herald.pool.query(
                            "SELECT count(*)::int FROM messages WHERE campaign_id = \(campaign.id) AND status = 'queued'")
                        #expect(try queued[0].decode(0, as: Int.self) == 0, "a pause leaves nothing of the campaign in the queue")
                        // While paused, only the messages a dispatcher had already claimed finish.
                        try await Self.waitFor("the claimed messages finish") {
                            try await herald.pool.query(
                                "SELECT 1 FROM messages WHERE campaign_id = \(campaign.id) AND status = 'sending' LIMIT 1").isEmpty
                        }
                        let settled = server.requests.count
                        try await Task.sleep(for: .milliseconds(500))
                        #expect(server.requests.count == settled, "nothing is sent while paused")
                        #expect(settled < total)
                        _ = try await herald.core.campaigns.resume(id: campaign.id)
                    }
                    try await Self.waitFor("the campaign completes", timeout: .seconds(240)) {
                        try await herald.core.campaigns.campaign(id: campaign.id).status == .completed
                    }
                }
                let received = Self.received(server)
                #expect(received.count == total, "nobody skipped")
                #expect(received.values.allSatisfy { $0 == 1 }, "nobody repeated")
                let messages = try await herald.pool.query("SELECT count(*)::int FROM messages WHERE campaign_id = \(campaign.id)")
                #expect(try messages[0].decode(0, as: Int.self) == total, "one message per recipient in the ledger")
            }
        } }
    }

    /// The clock moved to `instant`, then one scheduler pass.
    static func pass(_ herald: TestHerald, at instant: Date) async throws {
        let delta = instant.timeIntervalSince(herald.clock.now)
        if delta > 0 { herald.clock.advance(by: .milliseconds(Int64((delta * 1000).rounded(.up)))) }
        _ = try await herald.core.campaigns.launchDue()
        _ = try await herald.core.campaigns.feedPass()
    }

    static func scheduledAt(_ herald: TestHerald, campaign: UUID) async throws -> [String: Date] {
        var result: [String: Date] = [:]
        for row in try await herald.pool.query("SELECT to_number, send_after FROM messages WHERE campaign_id = \(campaign)") {
            result[try row.decode(0, as: String.self)] = try row.decode(1, as: Date.self)
        }
        return result
    }

    @Test("recipient-local time: Tokyo, Berlin and New York each at 10:00 their time; inside the campaign's quiet hours, at the window's end")
    func localTime() async throws {
        try await TestHerald.with { herald in
            let people = [("+819012345678", "Asia/Tokyo"), ("+4915112345678", "Europe/Berlin"), ("+12015550123", "America/New_York")]
            for (phone, zone) in people {
                _ = try await herald.core.contacts.upsert(ContactInput(phone: phone, timezone: zone, tags: ["local"]), source: "api", actor: nil)
            }
            let template = try await Self.template(herald, "Good morning")
            let segment = try await Self.segment(herald, tag: "local")
            // Two days ahead, so every zone's 10:00 is still to come.
            let day = CampaignTime.local(herald.clock.now.addingTimeInterval(2 * 86_400), in: TimeZone(identifier: "UTC")!)
            let wall = String(format: "%04d-%02d-%02dT10:00:00", day.year!, day.month!, day.day!)
            func make(_ quiet: JSONValue) async throws -> Campaign {
                let campaign = try await herald.core.campaigns.create(
                    ["name": "Local", "template_id": .string(template.id.uuidString), "segment_id": .string(segment.uuidString),
                     "schedule": .object(["local_time": .string(wall), "fallback_timezone": "Europe/Berlin"]), "quiet_hours": quiet], actor: nil)
                return try await herald.core.campaigns.schedule(id: campaign.id, [:])
            }
            let plain = try await make(.null)
            let quiet = try await make(.object(["start": "09:00", "end": "10:30"]))
            #expect(plain.status == .scheduled)

            // Before anyone's 10:00 nothing launches; from 10:00 at UTC+14 the audience is frozen.
            try await Self.pass(herald, at: herald.clock.now)
            #expect(try await herald.core.campaigns.campaign(id: plain.id).status == .scheduled)
            let components = DateComponents(year: day.year, month: day.month, day: day.day, hour: 10, minute: 0, second: 0)
            func at(_ zone: String, hour: Int = 10, minute: Int = 0) -> Date {
                var c = components
                c.hour = hour; c.minute = minute
                return CampaignTime.instant(c, in: TimeZone(identifier: zone)!)!
            }
            try await Self.pass(herald, at: plain.startsAt!)
            #expect(try await herald.core.campaigns.campaign(id: plain.id).status == .sending)
            #expect(try await Self.scheduledAt(herald, campaign: plain.id).isEmpty, "nobody's 10:00 yet")

            for (phone, zone) in people {
                try await Self.pass(herald, at: at(zone))
                let plainTimes = try await Self.scheduledAt(herald, campaign: plain.id)
                #expect(plainTimes[phone].map { abs($0.timeIntervalSince(at(zone))) < 1 } == true, "\(zone) at 10:00 local")
                #expect(try await Self.scheduledAt(herald, campaign: quiet.id)[phone] == nil, "\(zone): 10:00 is inside 09:00–10:30")
                try await Self.pass(herald, at: at(zone, minute: 30))
                let quietTimes = try await Self.scheduledAt(herald, campaign: quiet.id)
                #expect(quietTimes[phone].map { abs($0.timeIntervalSince(at(zone, minute: 30))) < 1 } == true, "\(zone) at 10:30 local")
            }
            #expect(try await Self.scheduledAt(herald, campaign: plain.id).count == 3)
        }
    }

    @Test("a contact who opted out before launch is excluded, one who opted out after launch is skipped; the log says why; neither is messaged")
    func optOutBetweenSchedulingAndSending() async throws {
        try await TestHerald.with { herald in
            try await Self.seed(herald, count: 3)
            let template = try await Self.template(herald)
            let sendAt = herald.clock.now.addingTimeInterval(3600)
            let created = try await herald.core.campaigns.create(
                ["name": "Later", "template_id": .string(template.id.uuidString), "quiet_hours": .null,
                 "schedule": .object(["send_at": .string(ISO8601DateFormatter().string(from: sendAt))])], actor: nil)
            let campaign = try await herald.core.campaigns.schedule(id: created.id, [:])
            let ids = try await herald.pool.query("SELECT id FROM contacts ORDER BY phone").map { try $0.decode(0, as: UUID.self) }
            _ = try await herald.core.contacts.setSubscribed(id: ids[0], false, consent: nil, source: "api", actor: nil)
            herald.clock.advance(by: .seconds(3601))
            #expect(try await herald.core.campaigns.launchDue() == 1)
            _ = try await herald.core.contacts.setSubscribed(id: ids[1], false, consent: nil, source: "api", actor: nil)
            _ = try await herald.core.campaigns.feedPass()
            let log = try await herald.core.campaigns.recipients(id: campaign.id, status: nil, limit: 10, cursor: nil).items
            let byContact = Dictionary(uniqueKeysWithValues: log.map { ($0.contactID, $0) })
            #expect(byContact[ids[0]]?.status == "excluded" && byContact[ids[0]]?.reason == "unsubscribed")
            #expect(byContact[ids[1]]?.status == "skipped" && byContact[ids[1]]?.reason == "unsubscribed")
            #expect(byContact[ids[2]]?.status == "queued" && byContact[ids[2]]?.messageID != nil)
            let messaged = try await herald.pool.query("SELECT contact_id FROM messages WHERE campaign_id = \(campaign.id)").map { try $0.decode(0, as: UUID.self) }
            #expect(messaged == [ids[2]])
            let frozen = try await herald.core.campaigns.estimate(id: campaign.id)
            #expect(frozen.frozen && frozen.recipients == 2 && frozen.excluded[.unsubscribed] == 1,
                    "one skipped after launch is a recipient who was skipped, not an exclusion at launch")
            // One who opts out after their message was queued is cancelled by the dispatcher's claim.
            _ = try await herald.core.contacts.setSubscribed(id: ids[2], false, consent: nil, source: "api", actor: nil)
            try await dispatchUntil(herald) {
                try await herald.pool.query("SELECT status FROM messages WHERE campaign_id = \(campaign.id)")[0].decode(0, as: String.self) == "canceled"
            }
            let stats = try await herald.core.campaigns.stats(id: campaign.id)
            #expect(stats.skipped == 2 && stats.excluded == 1 && stats.sent == 0)
        }
    }

    @Test("contacts stored before numbers' types were kept are classified in the background, so the estimate counts them right")
    func classifiesOldContacts() async throws {
        try await TestHerald.with { herald in
            // As migration 0008 finds them: no line_type.
            try await herald.pool.query(
                """
                INSERT INTO contacts (phone, country) VALUES ('+4915112345678', 'DE'), ('+493012345678', 'DE'), ('+4900000', NULL)
                """)
            let template = try await Self.template(herald)
            let campaign = try await herald.core.campaigns.create(
                ["name": "Old list", "template_id": .string(template.id.uuidString), "quiet_hours": .null], actor: nil)
            #expect(try await herald.core.campaigns.estimate(id: campaign.id).recipients == 3, "unknown types count as recipients")
            #expect(await herald.core.workers.campaignScheduler.classifyUntyped() == false, "one batch did them all")
            let types = try await herald.pool.query("SELECT phone, line_type FROM contacts ORDER BY phone").map {
                "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: String.self))"
            }
            #expect(types == ["+4900000=unknown", "+4915112345678=mobile", "+493012345678=fixed_line"])
            let estimate = try await herald.core.campaigns.estimate(id: campaign.id)
            #expect(estimate.recipients == 1 && estimate.excluded[.notMobile] == 1 && estimate.excluded[.invalidNumber] == 1)
        }
    }

    @Test("a scheduled campaign sent by hand goes now, not at its scheduled time")
    func sendScheduledNow() async throws {
        try await TestHerald.with { herald in
            try await Self.seed(herald, count: 2)
            let template = try await Self.template(herald)
            let tomorrow = ISO8601DateFormatter().string(from: herald.clock.now.addingTimeInterval(86_400))
            let created = try await herald.core.campaigns.create(
                ["name": "Tomorrow", "template_id": .string(template.id.uuidString), "quiet_hours": .null,
                 "schedule": .object(["send_at": .string(tomorrow)])], actor: nil)
            #expect(try await herald.core.campaigns.schedule(id: created.id, [:]).status == .scheduled)
            let sent = try await herald.core.campaigns.send(id: created.id)
            #expect(sent.status == .sending && sent.schedule == .none)
            #expect(try await herald.core.campaigns.feedPass().fed.queued == 2)
            let times = try await Self.scheduledAt(herald, campaign: created.id)
            #expect(times.count == 2 && times.values.allSatisfy { abs($0.timeIntervalSince(herald.clock.now)) < 5 })
        }
    }

    @Test("a throttled campaign's messages are spaced by the throttle; transactional messages keep their priority")
    func throttle() async throws {
        try await TestHerald.with { herald in
            try await Self.seed(herald, count: 40)
            let template = try await Self.template(herald, kind: "transactional")
            let campaign = try await herald.core.campaigns.create(
                ["name": "Slow", "template_id": .string(template.id.uuidString), "throttle_per_second": 10, "quiet_hours": .null], actor: nil)
            _ = try await herald.core.campaigns.send(id: campaign.id)
            let first = try await herald.core.campaigns.feedPass()
            #expect(first.fed.queued == 20, "two seconds' worth at 10/s")
            _ = try await herald.core.campaigns.feedPass()
            let times = try await herald.pool.query(
                "SELECT send_after, priority FROM messages WHERE campaign_id = \(campaign.id) ORDER BY send_after")
            #expect(times.count == 20, "no more until the slots are used")
            let dates = try times.map { try $0.decode(0, as: Date.self) }
            for (a, b) in zip(dates, dates.dropFirst()) { #expect(b.timeIntervalSince(a) >= 0.099) }
            #expect(try times.allSatisfy { try $0.decode(1, as: Int16.self) == 1 }, "campaign messages queue behind one-off transactional ones")
            herald.clock.advance(by: .seconds(2))
            #expect(try await herald.core.campaigns.feedPass().fed.queued == 20)
        }
    }

    @Test("retry failed: failures a retry can fix are sent again (the failed message stays in the log); stats count the latest")
    func retryFailed() async throws {
        var configuration = Self.fast
        configuration.maxAttempts = 1
        try await TestHerald.with(dispatcher: configuration) { herald in
            try await Self.seed(herald, count: 20)
            let template = try await Self.template(herald)
            let campaign = try await herald.core.campaigns.create(
                ["name": "Flaky", "template_id": .string(template.id.uuidString), "quiet_hours": .null], actor: nil)
            let down = Atomic<Bool>(true)
            try await ScriptedProvider.run(answer: { _, _, n in
                down.load(ordering: .relaxed) ? .init(status: 503, body: "{}") : .init(status: 200, body: #"{"id":"p-\#(n)"}"#)
            }) { server in
                try await Self.httpProvider(herald, url: server.baseURL + "/sms")
                try await Self.withWorkers(herald) {
                    _ = try await herald.core.campaigns.send(id: campaign.id)
                    try await Self.waitFor("completed with failures") { try await herald.core.campaigns.campaign(id: campaign.id).status == .completed }
                    #expect(try await herald.core.campaigns.stats(id: campaign.id).failed == 20)
                    down.store(false, ordering: .relaxed)
                    let (retried, count) = try await herald.core.campaigns.retryFailed(id: campaign.id)
                    #expect(count == 20 && retried.status == .sending)
                    try await Self.waitFor("completed again") { try await herald.core.campaigns.campaign(id: campaign.id).status == .completed }
                }
            }
            let stats = try await herald.core.campaigns.stats(id: campaign.id)
            #expect(stats.sent == 20 && stats.failed == 0 && stats.recipients == 20)
            let ledger = try await herald.pool.query("SELECT count(*)::int FROM messages WHERE campaign_id = \(campaign.id)")
            #expect(try ledger[0].decode(0, as: Int.self) == 40, "the failed attempts stay in the log")
            #expect(try await herald.core.campaigns.retryFailed(id: campaign.id).retried == 0)
        }
    }
}
