import Foundation
import Logging
import SMS

/// Campaigns: drafts, estimates, scheduling, launch (the audience frozen by one statement),
/// pause / resume / cancel / retry failed, stats and the recipient log; and the scheduler's
/// passes that launch scheduled campaigns and hand due recipients to the queue at each
/// campaign's throttle.
public struct CampaignService: Sendable {
    /// Recipients read per feed pass of one campaign.
    public static let feedBatch = 1000
    /// An unthrottled campaign keeps at most this many of its messages waiting in the queue:
    /// enough to keep the dispatcher busy, few enough that a pause takes them back at once.
    public static let queueWindow = 10_000
    /// A throttled campaign is fed this far ahead of its send times.
    static let throttleHorizon: TimeInterval = 2

    let store: CampaignStore
    let templates: TemplateService
    let segments: SegmentService
    let settings: SettingsService
    let clock: any HeraldClock
    /// Wakes this process's scheduler (a campaign was sent or resumed).
    let wake: @Sendable () -> Void
    /// Wakes the dispatchers (messages were queued).
    let onQueued: @Sendable () -> Void
    let logger: Logger

    init(store: CampaignStore, templates: TemplateService, segments: SegmentService, settings: SettingsService, clock: any HeraldClock,
         wake: @escaping @Sendable () -> Void, onQueued: @escaping @Sendable () -> Void, logger: Logger) {
        self.store = store
        self.templates = templates
        self.segments = segments
        self.settings = settings
        self.clock = clock
        self.wake = wake
        self.onQueued = onQueued
        self.logger = logger
    }

    static let notFound = HeraldError(.notFound, "no campaign with this id")

    static func invalidState(_ campaign: Campaign, _ action: CampaignStatus.Action) -> HeraldError {
        let allowed = CampaignStatus.sources(of: action).map(\.rawValue).joined(separator: ", ")
        return HeraldError(.invalidState, "a \(campaign.status.rawValue) campaign cannot \(action.rawValue) (only: \(allowed))")
    }

    // MARK: Drafts

    public func create(_ body: [String: JSONValue], actor: String?) async throws -> Campaign {
        let draft = try CampaignDraft.parse(body, creating: true)
        let now = clock.now
        var campaign = Campaign(
            id: UUID(), name: draft.name!, templateID: draft.templateID, segmentID: draft.segmentID ?? nil, sender: draft.sender ?? nil,
            status: .draft, schedule: draft.schedule ?? .none, throttlePerSecond: draft.throttlePerSecond ?? nil,
            quietHours: draft.quietHours ?? .settings, frequencyCap: draft.frequencyCap ?? .settings,
            launchedAt: nil, completedAt: nil, createdAt: now, updatedAt: now)
        try await check(&campaign)
        let created = try await store.insert(campaign, actor: actor)
        logger.info("campaign created", metadata: ["campaign.id": "\(created.id)"])
        return created
    }

    /// The template and segment exist, and a template for SMS is not a voice one.
    private func check(_ campaign: inout Campaign) async throws {
        guard let templateID = campaign.templateID else { throw HeraldError.validation("template_id", "is required") }
        do { _ = try await templates.template(id: templateID) } catch let error as HeraldError where error.code == .notFound {
            throw HeraldError(.templateNotFound, "no template with this id", field: "template_id")
        }
        if let segmentID = campaign.segmentID {
            do { _ = try await segments.segment(id: segmentID) } catch let error as HeraldError where error.code == .notFound {
                throw HeraldError.validation("segment_id", "no segment with this id")
            }
        }
    }

    private func rule(of campaign: Campaign) async throws -> SegmentRule? {
        guard let id = campaign.segmentID else { return nil }
        return try await segments.segment(id: id).rule
    }

    public func campaign(id: UUID) async throws -> Campaign {
        guard let campaign = try await store.campaign(id: id) else { throw Self.notFound }
        return campaign
    }

    public func campaigns(status: CampaignStatus?, limit: Int, cursor: ListCursor?) async throws -> Page<Campaign> {
        try await store.campaigns(status: status, limit: limit, after: cursor)
    }

    /// Changes a draft or scheduled campaign (merge: absent fields stay). A scheduled campaign
    /// whose schedule is removed is a draft again.
    public func update(id: UUID, _ body: [String: JSONValue]) async throws -> Campaign {
        let draft = try CampaignDraft.parse(body, creating: false)
        var campaign = try await campaign(id: id)
        guard campaign.status.after(.edit) != nil else { throw Self.invalidState(campaign, .edit) }
        let from = campaign.status
        if let name = draft.name { campaign.name = name }
        if let templateID = draft.templateID { campaign.templateID = templateID }
        if let segmentID = draft.segmentID { campaign.segmentID = segmentID }
        if let sender = draft.sender { campaign.sender = sender }
        if let schedule = draft.schedule {
            if campaign.status == .scheduled { try Self.checkFuture(schedule, now: clock.now) }
            campaign.schedule = schedule
        }
        if let throttle = draft.throttlePerSecond { campaign.throttlePerSecond = throttle }
        if let quiet = draft.quietHours { campaign.quietHours = quiet }
        if let cap = draft.frequencyCap { campaign.frequencyCap = cap }
        if campaign.status == .scheduled, campaign.schedule == .none { campaign.status = .draft }
        try await check(&campaign)
        guard let updated = try await store.update(campaign, from: [from]) else { throw Self.invalidState(try await self.campaign(id: id), .edit) }
        return updated
    }

    public func delete(id: UUID) async throws {
        let campaign = try await campaign(id: id)
        guard campaign.status.after(.delete) != nil, try await store.delete(id: id, from: CampaignStatus.sources(of: .delete)) else {
            throw Self.invalidState(campaign, .delete)
        }
        logger.info("campaign deleted", metadata: ["campaign.id": "\(id)"])
    }

    /// A schedule that has already passed everywhere is refused: `/send` is for now.
    static func checkFuture(_ schedule: Campaign.Schedule, now: Date) throws {
        switch schedule {
        case .none: break
        case .at(let date):
            if date < now.addingTimeInterval(-60) {
                throw HeraldError.validation("schedule.send_at", "is in the past; send the campaign now instead")
            }
        case .local(let wall, _):
            // The last place on Earth to reach that wall time is at UTC−12.
            if let last = CampaignTime.instant(wall, in: TimeZone(secondsFromGMT: -12 * 3600)!), last < now.addingTimeInterval(-60) {
                throw HeraldError.validation("schedule.local_time", "has passed in every time zone; send the campaign now instead")
            }
        }
    }

    // MARK: Moving through states

    /// `POST /schedule`, optionally with a new `schedule`.
    public func schedule(id: UUID, _ body: [String: JSONValue]) async throws -> Campaign {
        var campaign = try await campaign(id: id)
        guard campaign.status.after(.schedule) != nil else { throw Self.invalidState(campaign, .schedule) }
        for key in body.keys.sorted() where key != "schedule" { throw HeraldError.validation(key, "only schedule may be given here") }
        let from = campaign.status
        if let value = body["schedule"] { campaign.schedule = try CampaignDraft.schedule(value) }
        guard campaign.schedule != .none else { throw HeraldError.validation("schedule", "the campaign has no schedule: give one, or send it now") }
        try Self.checkFuture(campaign.schedule, now: clock.now)
        try await check(&campaign)
        campaign.status = .scheduled
        guard let updated = try await store.update(campaign, from: [from]) else { throw Self.invalidState(try await self.campaign(id: id), .schedule) }
        logger.info("campaign scheduled", metadata: ["campaign.id": "\(id)"])
        wake()
        return updated
    }

    /// `POST /send`: freezes the audience now and starts sending (a local-time schedule still
    /// sends each recipient at their time; an instant schedule is dropped: it goes now).
    public func send(id: UUID) async throws -> Campaign {
        let campaign = try await campaign(id: id)
        guard campaign.status.after(.send) != nil else { throw Self.invalidState(campaign, .send) }
        return try await launch(campaign, from: CampaignStatus.sources(of: .send), action: .send)
    }

    /// Freezes the audience of `campaign` (one `INSERT … SELECT`) and moves it to `sending`.
    func launch(_ campaign: Campaign, from: [CampaignStatus], action: CampaignStatus.Action) async throws -> Campaign {
        let now = clock.now
        guard let templateID = campaign.templateID else { throw HeraldError(.templateNotFound, "the campaign's template was deleted", field: "template_id") }
        let template = try await templates.template(id: templateID)
        let rule = try await rule(of: campaign)
        let cap = campaign.frequencyCap.resolved(try await settings.current().frequencyCap)
        var startsAt = now
        if case .local = campaign.schedule, let first = campaign.startsAt { startsAt = max(first, now.addingTimeInterval(-86_400)) }
        if case .at(let date) = campaign.schedule, action == .start { startsAt = date }
        let started = ContinuousClock.now
        guard let launched = try await store.launch(id: campaign.id, from: from, rule: rule, channel: template.channel, cap: cap,
                                                    startsAt: startsAt, now: now, dropInstant: action == .send)
        else { throw Self.invalidState(try await self.campaign(id: campaign.id), action) }
        logger.info("campaign launched", metadata: ["campaign.id": "\(campaign.id)",
                                                    "campaign.launch_ms": "\((ContinuousClock.now - started).wholeMilliseconds)"])
        wake()
        return launched
    }

    public func pause(id: UUID) async throws -> Campaign {
        let campaign = try await campaign(id: id)
        guard campaign.status.after(.pause) != nil, let (paused, returned) = try await store.pause(id: id) else {
            throw Self.invalidState(try await self.campaign(id: id), .pause)
        }
        logger.info("campaign paused", metadata: ["campaign.id": "\(id)", "campaign.returned": "\(returned)"])
        return paused
    }

    public func resume(id: UUID) async throws -> Campaign {
        let campaign = try await campaign(id: id)
        guard campaign.status.after(.resume) != nil,
              let resumed = try await store.transition(id: id, from: [.paused], to: .sending, now: clock.now)
        else { throw Self.invalidState(try await self.campaign(id: id), .resume) }
        logger.info("campaign resumed", metadata: ["campaign.id": "\(id)"])
        wake()
        return resumed
    }

    public func cancel(id: UUID) async throws -> Campaign {
        let campaign = try await campaign(id: id)
        guard campaign.status.after(.cancel) != nil,
              let canceled = try await store.cancel(id: id, from: CampaignStatus.sources(of: .cancel), now: clock.now)
        else { throw Self.invalidState(try await self.campaign(id: id), .cancel) }
        logger.info("campaign canceled", metadata: ["campaign.id": "\(id)"])
        return canceled
    }

    /// `POST /retry-failed`: recipients whose message failed for a reason a retry can fix get a
    /// new message. Returns the campaign and how many were retried.
    public func retryFailed(id: UUID) async throws -> (Campaign, retried: Int) {
        let campaign = try await campaign(id: id)
        let from: [CampaignStatus] = [.sending, .paused, .completed]
        guard from.contains(campaign.status), let result = try await store.retryFailed(id: id, from: from, now: clock.now) else {
            throw HeraldError(.invalidState, "only a launched campaign (sending, paused or completed) has failures to retry")
        }
        if result.retried > 0 { wake() }
        logger.info("campaign failures retried", metadata: ["campaign.id": "\(id)", "campaign.retried": "\(result.retried)"])
        return result
    }

    // MARK: Estimate, stats, log

    public struct Estimate: Sendable, Equatable {
        public var recipients: Int
        public var excluded: [RecipientReason: Int]
        /// SMS parts for everyone, each text rendered for its recipient with the footer.
        public var segmentsTotal: Int
        /// Counted from a sample (audiences over ``exactSegmentLimit``), not every recipient.
        public var segmentsEstimated: Bool
        /// The audience is frozen (launched): these are its counts, not a forecast.
        public var frozen: Bool
    }

    /// Rendering every text is exact and takes about a second per 100,000 recipients; beyond
    /// that the segments are counted from the first `exactSegmentLimit` and scaled.
    public static let exactSegmentLimit = 100_000

    public func estimate(id: UUID) async throws -> Estimate {
        let campaign = try await campaign(id: id)
        guard let templateID = campaign.templateID else { throw HeraldError(.templateNotFound, "the campaign's template was deleted", field: "template_id") }
        let template = try await templates.template(id: templateID)
        let current = try await settings.current()
        let cap = campaign.frequencyCap.resolved(current.frequencyCap)
        let now = clock.now
        let rule = try await rule(of: campaign)
        var estimate = Estimate(recipients: 0, excluded: [:], segmentsTotal: 0, segmentsEstimated: false, frozen: campaign.launchedAt != nil)
        for reason in [RecipientReason.unsubscribed, .invalidNumber, .notMobile, .frequencyCapped] { estimate.excluded[reason] = 0 }
        if estimate.frozen {
            let counts = try await store.frozenCounts(id: id)
            estimate.recipients = counts.byStatus.filter { $0.key != "excluded" }.values.reduce(0, +)
            for (reason, n) in counts.byReason { if let r = RecipientReason(rawValue: reason) { estimate.excluded[r, default: 0] += n } }
        } else {
            let counts = try await store.estimate(rule: rule, channel: template.channel, cap: cap, now: now)
            estimate.recipients = counts[nil] ?? 0
            for (reason, n) in counts { if let reason, let r = RecipientReason(rawValue: reason) { estimate.excluded[r] = n } }
        }
        // Segments: render each recipient's text as the feeder will.
        let planner = try CampaignPlanner(template: template, schedule: .none, quietHours: nil, frequencyCap: nil,
                                          footer: current.marketingFooter, optOutKeywords: current.optOut.keywords, launchedAt: now)
        var counted = 0, parts = 0
        var after: UUID?
        while counted < Self.exactSegmentLimit {
            let batch = try await store.audienceContacts(campaignID: estimate.frozen ? id : nil, rule: rule, channel: template.channel,
                                                         cap: cap, now: now, after: after, limit: 5000)
            if batch.isEmpty { break }
            for recipient in batch {
                if case .send(_, let text, _, _) = planner.decide(recipient, now: now) { parts += text.segments }
            }
            counted += batch.count
            after = batch.last?.contactID
        }
        if counted > 0 && counted < estimate.recipients {
            estimate.segmentsEstimated = true
            parts = Int((Double(parts) / Double(counted) * Double(estimate.recipients)).rounded())
        }
        estimate.segmentsTotal = parts
        return estimate
    }

    public struct Stats: Sendable, Equatable {
        public var recipients = 0
        /// Not yet handed to a provider: recipients waiting their turn and queued messages.
        public var queued = 0
        public var sending = 0
        public var sent = 0
        public var delivered = 0
        public var undelivered = 0
        public var failed = 0
        /// Left out when their turn came (opted out, capped, deleted…) or cancelled.
        public var skipped = 0
        /// Left out at launch.
        public var excluded = 0
    }

    public func stats(id: UUID) async throws -> Stats {
        let frozen = try await store.frozenCounts(id: id)
        let messages = try await store.messageCounts(id: id)
        var stats = Stats()
        stats.excluded = frozen.byStatus["excluded"] ?? 0
        stats.recipients = frozen.byStatus.filter { $0.key != "excluded" }.values.reduce(0, +)
        stats.queued = (frozen.byStatus["pending"] ?? 0) + (messages.byStatus["queued"] ?? 0)
        stats.sending = messages.byStatus["sending"] ?? 0
        stats.sent = messages.byStatus["sent"] ?? 0
        stats.delivered = messages.byStatus["delivered"] ?? 0
        stats.undelivered = messages.byStatus["undelivered"] ?? 0
        stats.failed = max(0, (messages.byStatus["failed"] ?? 0) - messages.retried)
        stats.skipped = (frozen.byStatus["skipped"] ?? 0) + (messages.byStatus["canceled"] ?? 0)
        return stats
    }

    public func recipients(id: UUID, status: String?, limit: Int, cursor: ListCursor?) async throws -> Page<CampaignStore.RecipientEntry> {
        _ = try await campaign(id: id)
        let known = ["pending", "queued", "excluded", "skipped", "sending", "sent", "delivered", "undelivered", "failed", "canceled"]
        if let status, !known.contains(status) { throw HeraldError.validation("status", "must be one of \(known.joined(separator: ", "))") }
        return try await store.recipients(id: id, status: status, limit: limit, after: cursor)
    }

    // MARK: The scheduler's passes

    /// Launches scheduled campaigns whose time has come. Any number of processes may run this:
    /// the launch takes the campaign's row lock and re-checks its status, so each starts once.
    public func launchDue() async throws -> Int {
        var launched = 0
        for id in try await store.dueScheduled(now: clock.now) {
            guard let campaign = try await store.campaign(id: id), campaign.status == .scheduled else { continue }
            do {
                _ = try await launch(campaign, from: [.scheduled], action: .start)
                launched += 1
            } catch let error as HeraldError where error.code == .invalidState {
                continue  // another process launched it
            } catch let error as HeraldError where error.code == .templateNotFound || error.code == .notFound {
                logger.warning("a scheduled campaign cannot start: its template or segment is gone; cancelling it",
                               metadata: ["campaign.id": "\(id)"])
                _ = try await store.cancel(id: id, from: [.scheduled], now: clock.now)
            }
        }
        return launched
    }

    /// One pass over every sending campaign: hands due recipients to the queue (at the
    /// campaign's throttle, within its queue window), then marks finished campaigns completed.
    /// Returns whether more is due at once (call again without waiting).
    public func feedPass() async throws -> (fed: CampaignStore.FeedResult, more: Bool) {
        let now = clock.now
        let current = try await settings.current()
        var total = CampaignStore.FeedResult()
        var more = false
        for entry in try await store.feedable(now: now) {
            guard let campaign = try await store.campaign(id: entry.id), campaign.status == .sending else { continue }
            guard let templateID = campaign.templateID, let template = try? await templates.template(id: templateID) else {
                logger.warning("a sending campaign's template is gone; cancelling it", metadata: ["campaign.id": "\(campaign.id)"])
                _ = try await store.cancel(id: campaign.id, from: [.sending], now: now)
                continue
            }
            var limit = Self.feedBatch
            let throttle = campaign.throttlePerSecond
            let slotStart = max(entry.nextSlot ?? now, now)
            if let throttle {
                let room = (now.addingTimeInterval(Self.throttleHorizon).timeIntervalSince(slotStart)) * Double(throttle)
                limit = min(limit, Int(room.rounded(.down)))
            } else {
                limit = min(limit, Self.queueWindow - entry.queued)
            }
            guard limit > 0 else { continue }
            let cap = campaign.frequencyCap.resolved(current.frequencyCap)
            let planner = try CampaignPlanner(
                template: template, schedule: campaign.schedule, quietHours: campaign.quietHours.resolved(current.quietHours).map(QuietHours.init),
                frequencyCap: cap, footer: current.marketingFooter, optOutKeywords: current.optOut.keywords,
                launchedAt: campaign.launchedAt ?? now)
            let sender = campaign.sender
            let result = try await store.feed(
                id: campaign.id, limit: limit, now: now, capWindowHours: cap?.windowHours,
                plan: { recipients in Self.plan(recipients, planner: planner, now: now, slotStart: slotStart, throttle: throttle) },
                message: { recipient, body, text, locale, sendAfter in
                    NewMessage(to: recipient.phone ?? "", country: recipient.country, from: sender, body: body, channel: template.channel,
                               kind: template.kind, locale: locale, templateID: template.id, campaignID: campaign.id,
                               contactID: recipient.contactID, sendAfter: sendAfter)
                })
            total.queued += result.queued
            total.skipped += result.skipped
            total.deferred += result.deferred
            total.read += result.read
            if result.read == limit { more = true }
        }
        if total.queued > 0 { onQueued() }
        let completed = try await store.completeFinished(now: clock.now)
        for id in completed { logger.info("campaign completed", metadata: ["campaign.id": "\(id)"]) }
        return (total, more)
    }

    /// Decides a batch and spaces its sends by the throttle: each queued message gets a send time
    /// no earlier than the slot after the previous one. Returns the decisions and the next slot.
    static func plan(
        _ recipients: [CampaignPlanner.Recipient], planner: CampaignPlanner, now: Date, slotStart: Date, throttle: Int?
    ) -> (decisions: [CampaignPlanner.Decision], nextSlot: Date?) {
        var slot = slotStart
        var decisions: [CampaignPlanner.Decision] = []
        decisions.reserveCapacity(recipients.count)
        for recipient in recipients {
            var decision = planner.decide(recipient, now: now)
            if let throttle, case .send(let body, let text, let locale, let sendAfter) = decision {
                let at = max(sendAfter, slot)
                slot = at.addingTimeInterval(1 / Double(throttle))
                decision = .send(body: body, text: text, locale: locale, sendAfter: at)
            }
            decisions.append(decision)
        }
        return (decisions, throttle == nil ? nil : slot)
    }
}
