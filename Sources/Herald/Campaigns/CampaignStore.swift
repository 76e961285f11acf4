import Foundation
import Postgres
import SMS

/// All SQL of campaigns (migration 0008): the campaigns, the set-based launch that freezes the
/// audience, the feed that hands due recipients to the queue, pause / resume / cancel / retry,
/// and the counts behind estimates and stats.
public struct CampaignStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns: PostgresQuery = """
        id, name, template_id, segment_id, sender, status, send_at, local_time, fallback_timezone, throttle_per_second,
        quiet_hours_mode, quiet_start, quiet_end, cap_mode, cap_max, cap_window_hours, launched_at, completed_at,
        created_at, updated_at
        """

    static func campaign(_ row: PostgresRow) throws -> Campaign {
        let schedule: Campaign.Schedule
        let sendAt: Date? = try row.decode("send_at")
        let localTime: String? = try row.decode("local_time")
        if let sendAt {
            schedule = .at(sendAt)
        } else if let localTime, let wall = CampaignDraft.wallClock(localTime),
                  let zone = TimeZone(identifier: try row.decode("fallback_timezone") ?? "UTC") {
            schedule = .local(wall, fallback: zone)
        } else {
            schedule = .none
        }
        let quiet: Campaign.Policy<Settings.QuietHours>
        switch try row.decode("quiet_hours_mode", as: String.self) {
        case "none": quiet = .none
        case "custom": quiet = .custom(Settings.QuietHours(start: try row.decode("quiet_start"), end: try row.decode("quiet_end")))
        default: quiet = .settings
        }
        let cap: Campaign.Policy<Settings.FrequencyCap>
        switch try row.decode("cap_mode", as: String.self) {
        case "none": cap = .none
        case "custom": cap = .custom(Settings.FrequencyCap(max: try row.decode("cap_max"), windowHours: try row.decode("cap_window_hours")))
        default: cap = .settings
        }
        return Campaign(
            id: try row.decode("id"), name: try row.decode("name"), templateID: try row.decode("template_id"),
            segmentID: try row.decode("segment_id"), sender: try row.decode("sender"),
            status: try UnknownValue.parse(try row.decode("status")), schedule: schedule,
            throttlePerSecond: try row.decode("throttle_per_second"), quietHours: quiet, frequencyCap: cap,
            launchedAt: try row.decode("launched_at"), completedAt: try row.decode("completed_at"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// The columns a campaign's settings are written to, as `col = value` pairs.
    static func assignments(_ c: Campaign) -> PostgresQuery {
        var sendAt: Date?
        var localTime: String?
        var fallback: String?
        switch c.schedule {
        case .none: break
        case .at(let date): sendAt = date
        case .local(let wall, let zone):
            localTime = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", wall.year ?? 0, wall.month ?? 0, wall.day ?? 0,
                               wall.hour ?? 0, wall.minute ?? 0, wall.second ?? 0)
            fallback = zone.identifier
        }
        var quietMode = "settings", quietStart: Int?, quietEnd: Int?
        switch c.quietHours {
        case .settings: break
        case .none: quietMode = "none"
        case .custom(let q): quietMode = "custom"; quietStart = q.start; quietEnd = q.end
        }
        var capMode = "settings", capMax: Int?, capWindow: Int?
        switch c.frequencyCap {
        case .settings: break
        case .none: capMode = "none"
        case .custom(let f): capMode = "custom"; capMax = f.max; capWindow = f.windowHours
        }
        return """
            name = \(c.name), template_id = \(c.templateID), segment_id = \(c.segmentID), sender = \(c.sender),
            send_at = \(sendAt), local_time = \(localTime), fallback_timezone = \(fallback), throttle_per_second = \(c.throttlePerSecond),
            quiet_hours_mode = \(quietMode), quiet_start = \(quietStart), quiet_end = \(quietEnd),
            cap_mode = \(capMode), cap_max = \(capMax), cap_window_hours = \(capWindow), starts_at = \(c.startsAt)
            """
    }

    func insert(_ campaign: Campaign, actor: String?) async throws -> Campaign {
        try await pool.withTransaction { connection in
            let id: UUID = try await connection.query(
                "INSERT INTO campaigns (name, template_id, status, actor) VALUES (\(campaign.name), \(campaign.templateID), 'draft', \(actor)) RETURNING id"
            )[0].decode(0)
            let rows = try await connection.query("UPDATE campaigns SET \(Self.assignments(campaign)) WHERE id = \(id) RETURNING \(Self.columns)")
            return try Self.campaign(rows[0])
        }
    }

    public func campaign(id: UUID) async throws -> Campaign? {
        try await pool.query("SELECT \(Self.columns) FROM campaigns WHERE id = \(id)").first.map(Self.campaign)
    }

    func campaigns(status: CampaignStatus?, limit: Int, after cursor: ListCursor?) async throws -> Page<Campaign> {
        try await pool.page(
            of: """
                SELECT \(Self.columns), (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us FROM campaigns
                WHERE \(status?.rawValue) IS NULL OR status = \(status?.rawValue)
                """,
            limit: limit, after: cursor, decode: Self.campaign)
    }

    /// Writes `campaign`'s settings and status when its status is still one of `from`; nil when
    /// it is not (someone else moved it).
    func update(_ campaign: Campaign, from: [CampaignStatus]) async throws -> Campaign? {
        try await pool.query(
            """
            UPDATE campaigns SET \(Self.assignments(campaign)), status = \(campaign.status.rawValue), updated_at = now()
            WHERE id = \(campaign.id) AND status = ANY (\(from.map(\.rawValue)))
            RETURNING \(Self.columns)
            """).first.map(Self.campaign)
    }

    func delete(id: UUID, from: [CampaignStatus]) async throws -> Bool {
        try await pool.withTransaction { connection in
            guard try await connection.query(
                "DELETE FROM campaigns WHERE id = \(id) AND status = ANY (\(from.map(\.rawValue)))").affectedRows == 1
            else { return false }
            try await connection.query("DELETE FROM campaign_recipients WHERE campaign_id = \(id)")
            return true
        }
    }

    /// Moves the status from one of `from` to `to`; nil when the campaign was in none of them.
    func transition(id: UUID, from: [CampaignStatus], to: CampaignStatus, now: Date) async throws -> Campaign? {
        try await pool.query(
            """
            UPDATE campaigns SET status = \(to.rawValue), updated_at = now(),
                completed_at = CASE WHEN \(to.rawValue) = 'completed' THEN \(now) ELSE completed_at END
            WHERE id = \(id) AND status = ANY (\(from.map(\.rawValue)))
            RETURNING \(Self.columns)
            """).first.map(Self.campaign)
    }

    // MARK: Audience

    /// Who a campaign reaches and why each other contact of its segment is left out, one row per
    /// contact of the segment (`reason` NULL for a recipient): the launch inserts it, the
    /// estimate counts it. Frequency caps count marketing messages that went out in the window.
    static func audience(rule: SegmentRule?, channel: MessageChannel, cap: Settings.FrequencyCap?, now: Date) -> PostgresQuery {
        let segment: PostgresQuery = rule.map { PostgresQuery.segment($0, now: now) } ?? "true"
        let capped: PostgresQuery
        if let cap {
            let since = now.addingTimeInterval(-Double(cap.windowHours) * 3600)
            capped = """
                SELECT to_number FROM messages
                WHERE kind = 'marketing' AND status IN ('sent', 'delivered') AND created_at > \(since)
                GROUP BY to_number HAVING count(*) >= \(cap.max)
                """
        } else {
            capped = "SELECT NULL::text AS to_number WHERE false"
        }
        return """
            WITH capped AS (\(capped)),
            matching AS (SELECT id, phone, subscribed, line_type FROM contacts WHERE deleted_at IS NULL AND \(segment))
            SELECT m.id, CASE
                WHEN NOT m.subscribed THEN 'unsubscribed'
                WHEN m.line_type = 'unknown' THEN 'invalid_number'
                WHEN \(channel == .sms) AND m.line_type IS NOT NULL AND m.line_type NOT IN ('mobile', 'fixed_line_or_mobile') THEN 'not_mobile'
                WHEN k.to_number IS NOT NULL THEN 'frequency_capped'
            END AS reason
            FROM matching m LEFT JOIN capped k ON k.to_number = m.phone
            """
    }

    /// Counts of the audience by reason (nil: recipients), without freezing anything.
    func estimate(rule: SegmentRule?, channel: MessageChannel, cap: Settings.FrequencyCap?, now: Date) async throws -> [String?: Int] {
        try await pool.withTransaction { connection in
            try await connection.query("SET LOCAL statement_timeout = '5min'")
            let rows = try await connection.query(
                "SELECT reason, count(*)::int8 FROM (\(Self.audience(rule: rule, channel: channel, cap: cap, now: now))) a GROUP BY reason")
            var counts: [String?: Int] = [:]
            for row in rows { counts[try row.decode(0, as: String?.self)] = Int(try row.decode(1, as: Int64.self)) }
            return counts
        }
    }

    /// A frozen audience's counts: by status, and those excluded at launch by reason.
    func frozenCounts(id: UUID) async throws -> (byStatus: [String: Int], byReason: [String: Int]) {
        let rows = try await pool.query(
            "SELECT status, reason, count(*)::int8 FROM campaign_recipients WHERE campaign_id = \(id) GROUP BY status, reason")
        var byStatus: [String: Int] = [:], byReason: [String: Int] = [:]
        for row in rows {
            let n = Int(try row.decode(2, as: Int64.self))
            let status = try row.decode(0, as: String.self)
            byStatus[status, default: 0] += n
            if status == "excluded", let reason = try row.decode(1, as: String?.self) { byReason[reason, default: 0] += n }
        }
        return (byStatus, byReason)
    }

    /// Contacts of an audience, `after` (keyset on id), for counting segments by rendering.
    /// `frozen`: the campaign's recipients (not left out); else the live segment's subscribed ones.
    func audienceContacts(
        campaignID: UUID?, rule: SegmentRule?, channel: MessageChannel, cap: Settings.FrequencyCap?, now: Date, after: UUID?, limit: Int
    ) async throws -> [CampaignPlanner.Recipient] {
        let source: PostgresQuery
        if let campaignID {
            source = "SELECT contact_id AS id FROM campaign_recipients WHERE campaign_id = \(campaignID) AND status IN ('pending', 'queued')"
        } else {
            source = "SELECT id FROM (\(Self.audience(rule: rule, channel: channel, cap: cap, now: now))) a WHERE reason IS NULL"
        }
        let rows = try await pool.query(
            """
            SELECT c.id, c.phone, c.subscribed, c.country, c.first_name, c.last_name, c.locale, c.timezone, c.tags, c.attributes,
                   c.line_type, 0 AS recent
            FROM (\(source)) s JOIN contacts c ON c.id = s.id
            WHERE \(after) IS NULL OR c.id > \(after)
            ORDER BY c.id LIMIT \(limit)
            """)
        return try rows.map(Self.recipient)
    }

    static func recipient(_ row: PostgresRow) throws -> CampaignPlanner.Recipient {
        CampaignPlanner.Recipient(
            contactID: try row.decode(0), phone: try row.decode(1), subscribed: try row.decode(2), country: try row.decode(3),
            firstName: try row.decode(4), lastName: try row.decode(5), locale: try row.decode(6), timezone: try row.decode(7),
            tags: try row.decode(8), attributes: try row.decodeJSON("attributes"),
            lineType: try row.decode(10), recentMarketing: Int(try row.decode(11, as: Int64.self)))
    }

    /// Freezes the audience with one `INSERT … SELECT` and moves the campaign to `sending`, in one
    /// transaction under the campaign's row lock; nil when its status was not one of `from`.
    /// `now`: sent by hand, so an instant schedule it had is dropped (it goes now).
    func launch(
        id: UUID, from: [CampaignStatus], rule: SegmentRule?, channel: MessageChannel, cap: Settings.FrequencyCap?, startsAt: Date, now: Date,
        dropInstant: Bool
    ) async throws -> Campaign? {
        try await pool.withTransaction { connection in
            try await connection.query("SET LOCAL statement_timeout = '10min'")
            // The audience is sorted by contact before it is written (the key's order): in memory.
            try await connection.query("SET LOCAL work_mem = '256MB'")
            let locked = try await connection.query(
                "SELECT status FROM campaigns WHERE id = \(id) AND status = ANY (\(from.map(\.rawValue))) FOR UPDATE")
            guard !locked.isEmpty else { return nil }
            try await connection.query(
                """
                INSERT INTO campaign_recipients (campaign_id, contact_id, status, reason, send_at)
                SELECT \(id), a.id, CASE WHEN a.reason IS NULL THEN 'pending' ELSE 'excluded' END, a.reason, \(startsAt)
                FROM (\(Self.audience(rule: rule, channel: channel, cap: cap, now: now))) a
                ORDER BY a.id
                """)
            return try await connection.query(
                """
                UPDATE campaigns SET status = 'sending', launched_at = \(now), starts_at = \(startsAt), next_slot_at = NULL,
                    send_at = CASE WHEN \(dropInstant) THEN NULL ELSE send_at END, updated_at = now()
                WHERE id = \(id) RETURNING \(Self.columns)
                """).first.map(Self.campaign)
        }
    }

    // MARK: Feeding the queue

    /// Sending campaigns whose first instant has come, with how many of their messages wait in
    /// the queue and when the throttle allows the next one.
    func feedable(now: Date) async throws -> [(id: UUID, queued: Int, nextSlot: Date?)] {
        try await pool.query(
            """
            SELECT c.id, (SELECT count(*) FROM messages m WHERE m.campaign_id = c.id AND m.status = 'queued')::int8, c.next_slot_at
            FROM campaigns c WHERE c.status = 'sending' AND c.starts_at <= \(now)
            ORDER BY c.starts_at
            """).map { row in
            (try row.decode(0), Int(try row.decode(1, as: Int64.self)), try row.decode(2))
        }
    }

    /// What one feed pass did.
    public struct FeedResult: Sendable, Equatable {
        public var queued = 0
        public var skipped = 0
        public var deferred = 0
        /// Recipients were read (a full batch: there may be more due).
        public var read = 0
    }

    /// One feed pass for a campaign, in one transaction under its row lock (pause and cancel take
    /// the same lock, so nothing is fed after they commit): reads up to `limit` due pending
    /// recipients with their contacts as they are now, lets `plan` decide each, and writes the
    /// messages and the recipients' new states together. `plan` gets the recipients and returns a
    /// decision per recipient, plus the throttle's next slot to store.
    func feed(
        id: UUID, limit: Int, now: Date, capWindowHours: Int?,
        plan: @Sendable ([CampaignPlanner.Recipient]) throws -> (decisions: [CampaignPlanner.Decision], nextSlot: Date?),
        message: @Sendable (CampaignPlanner.Recipient, String, MessageText, String?, Date) -> NewMessage
    ) async throws -> FeedResult {
        try await pool.withTransaction { connection in
            let locked = try await connection.query("SELECT status FROM campaigns WHERE id = \(id) FOR UPDATE")
            guard let status = locked.first, try status.decode(0, as: String.self) == CampaignStatus.sending.rawValue else { return FeedResult() }
            let since = capWindowHours.map { now.addingTimeInterval(-Double($0) * 3600) }
            let rows = try await connection.query(
                """
                WITH due AS (
                    SELECT contact_id, send_at FROM campaign_recipients
                    WHERE campaign_id = \(id) AND status = 'pending' AND send_at <= \(now)
                    ORDER BY send_at LIMIT \(limit)
                )
                SELECT d.contact_id, c.phone, COALESCE(c.subscribed, false), c.country, c.first_name, c.last_name, c.locale, c.timezone,
                       COALESCE(c.tags, '{}'), COALESCE(c.attributes, '{}') AS attributes, c.line_type,
                       CASE WHEN \(since) IS NULL OR c.phone IS NULL THEN 0 ELSE (
                           SELECT count(*) FROM messages m
                           WHERE m.to_number = c.phone AND m.kind = 'marketing' AND m.status IN ('sent', 'delivered')
                             AND m.created_at > \(since)) END::int8
                FROM due d LEFT JOIN contacts c ON c.id = d.contact_id AND c.deleted_at IS NULL
                ORDER BY d.send_at, d.contact_id
                """)
            let recipients = try rows.map(Self.recipient)
            guard !recipients.isEmpty else { return FeedResult() }
            let (decisions, nextSlot) = try plan(recipients)
            var result = FeedResult(read: recipients.count)
            var news: [(new: NewMessage, text: MessageText)] = []
            var contactIDs: [UUID] = [], statuses: [String] = [], reasons: [String?] = [], messageIDs: [UUID?] = [], sendAts: [Date?] = []
            for (recipient, decision) in zip(recipients, decisions) {
                contactIDs.append(recipient.contactID)
                switch decision {
                case .skip(let reason):
                    statuses.append("skipped"); reasons.append(reason.rawValue); messageIDs.append(nil); sendAts.append(nil)
                    result.skipped += 1
                case .later(let date):
                    statuses.append("pending"); reasons.append(nil); messageIDs.append(nil); sendAts.append(date)
                    result.deferred += 1
                case .send(let body, let text, let locale, let sendAfter):
                    var new = message(recipient, body, text, locale, sendAfter)
                    let messageID = UUID()
                    new.id = messageID
                    news.append((new, text))
                    statuses.append("queued"); reasons.append(nil); messageIDs.append(messageID); sendAts.append(nil)
                    result.queued += 1
                }
            }
            if !news.isEmpty { try await connection.query(MessageStore.insert(news, now: now)) }
            try await connection.query(
                """
                UPDATE campaign_recipients r SET status = v.status, reason = v.reason, message_id = v.message_id,
                    send_at = COALESCE(v.send_at, r.send_at), updated_at = now()
                FROM unnest(\(contactIDs)::uuid[], \(statuses)::text[], \(reasons)::text[], \(messageIDs)::uuid[], \(sendAts)::timestamptz[])
                     AS v(contact_id, status, reason, message_id, send_at)
                WHERE r.campaign_id = \(id) AND r.contact_id = v.contact_id
                """)
            if let nextSlot { try await connection.query("UPDATE campaigns SET next_slot_at = \(nextSlot) WHERE id = \(id)") }
            return result
        }
    }

    /// Marks `sending` campaigns with nothing left to feed and nothing in the queue completed.
    func completeFinished(now: Date) async throws -> [UUID] {
        try await pool.query(
            """
            UPDATE campaigns c SET status = 'completed', completed_at = \(now), updated_at = now()
            WHERE c.status = 'sending'
              AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = c.id AND r.status = 'pending')
              AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = c.id AND m.status IN ('queued', 'sending'))
            RETURNING c.id
            """).map { try $0.decode(0) }
    }

    /// Scheduled campaigns whose time has come (the scheduler launches each).
    func dueScheduled(now: Date) async throws -> [UUID] {
        try await pool.query(
            """
            SELECT id FROM campaigns WHERE status = 'scheduled' AND starts_at <= \(now)
            ORDER BY created_at
            """).map { try $0.decode(0) }
    }

    // MARK: Pause, cancel, retry

    /// Stops feeding and takes the campaign's still-queued messages back out of the queue,
    /// returning their recipients to pending, all in one transaction under the row lock.
    /// Messages a dispatcher already claimed go on (they are `sending`, not `queued`): each
    /// recipient ends with exactly one message, never none and never two.
    func pause(id: UUID) async throws -> (Campaign, returned: Int)? {
        try await pool.withTransaction { connection in
            guard try await !connection.query("SELECT 1 FROM campaigns WHERE id = \(id) AND status = 'sending' FOR UPDATE").isEmpty else {
                return nil
            }
            let returned = try await connection.query(
                """
                WITH taken AS (
                    DELETE FROM messages WHERE campaign_id = \(id) AND status = 'queued' RETURNING id
                )
                UPDATE campaign_recipients r SET status = 'pending', message_id = NULL, updated_at = now()
                FROM taken WHERE r.campaign_id = \(id) AND r.message_id = taken.id
                """).affectedRows
            let rows = try await connection.query(
                "UPDATE campaigns SET status = 'paused', next_slot_at = NULL, updated_at = now() WHERE id = \(id) RETURNING \(Self.columns)")
            return (try Self.campaign(rows[0]), returned)
        }
    }

    /// Cancels: queued messages become `canceled`, pending recipients `skipped` (canceled).
    func cancel(id: UUID, from: [CampaignStatus], now: Date) async throws -> Campaign? {
        try await pool.withTransaction { connection in
            guard try await !connection.query(
                "SELECT 1 FROM campaigns WHERE id = \(id) AND status = ANY (\(from.map(\.rawValue))) FOR UPDATE").isEmpty
            else { return nil }
            try await connection.query(
                """
                UPDATE messages SET status = 'canceled', error_code = 'campaign_canceled',
                    error_message = 'the campaign was cancelled before this message was sent', updated_at = now()
                WHERE campaign_id = \(id) AND status = 'queued'
                """)
            try await connection.query(
                """
                UPDATE campaign_recipients SET status = 'skipped', reason = 'canceled', updated_at = now()
                WHERE campaign_id = \(id) AND status = 'pending'
                """)
            return try await connection.query(
                """
                UPDATE campaigns SET status = 'canceled', completed_at = \(now), updated_at = now() WHERE id = \(id)
                RETURNING \(Self.columns)
                """).first.map(Self.campaign)
        }
    }

    /// Failure codes a later attempt can fix (the provider was down, throttled, misconfigured,
    /// or no route existed); failures about the recipient (invalid, blocked, opted out) are not.
    static let retryableFailures = ["attempts_exhausted", "no_route", "throttled", "unavailable", "account", "rejected"]

    /// Returns recipients whose current message failed for a fixable reason to pending (each gets
    /// a new message; the failed one stays in the ledger) and the campaign to `sending`.
    func retryFailed(id: UUID, from: [CampaignStatus], now: Date) async throws -> (Campaign, retried: Int)? {
        try await pool.withTransaction { connection in
            guard try await !connection.query(
                "SELECT 1 FROM campaigns WHERE id = \(id) AND status = ANY (\(from.map(\.rawValue))) FOR UPDATE").isEmpty
            else { return nil }
            let retried = try await connection.query(
                """
                UPDATE campaign_recipients r SET status = 'pending', message_id = NULL, send_at = \(now), updated_at = now()
                FROM messages m
                WHERE r.campaign_id = \(id) AND r.status = 'queued' AND m.id = r.message_id AND m.status = 'failed'
                  AND m.error_code = ANY (\(Self.retryableFailures))
                """).affectedRows
            let rows = try await connection.query(
                """
                UPDATE campaigns SET retried = retried + \(retried),
                    status = CASE WHEN \(retried) > 0 AND status = 'completed' THEN 'sending' ELSE status END,
                    completed_at = CASE WHEN \(retried) > 0 AND status = 'completed' THEN NULL ELSE completed_at END,
                    updated_at = now()
                WHERE id = \(id) RETURNING \(Self.columns)
                """)
            return (try Self.campaign(rows[0]), retried)
        }
    }

    // MARK: Stats and the recipient log

    /// Message counts by status over the campaign's messages, and how many failed ones a retry replaced.
    func messageCounts(id: UUID) async throws -> (byStatus: [String: Int], retried: Int) {
        let rows = try await pool.query(
            "SELECT status, count(*)::int8 FROM messages WHERE campaign_id = \(id) GROUP BY status")
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.decode(0, as: String.self)] = Int(try row.decode(1, as: Int64.self)) }
        let retried = try await pool.query("SELECT retried FROM campaigns WHERE id = \(id)").first?.decode(0, as: Int.self) ?? 0
        return (counts, retried)
    }

    /// One recipient as the campaign's log shows it.
    public struct RecipientEntry: Sendable, Equatable {
        public var contactID: UUID
        public var phone: String?
        public var name: String?
        public var status: String
        public var reason: String?
        public var sendAt: Date
        public var messageID: UUID?
        public var messageStatus: String?
        public var errorCode: String?
        public var updatedAt: Date
    }

    /// The recipient log, most recently changed first; keyset on (updated_at, contact_id).
    /// `status` filters by the recipient's state or, for `sent` / `delivered` / `failed` / …, by its message's.
    func recipients(id: UUID, status: String?, limit: Int, after cursor: ListCursor?) async throws -> Page<RecipientEntry> {
        try await pool.page(
            of: """
                SELECT r.contact_id AS id, c.phone, NULLIF(concat_ws(' ', c.first_name, c.last_name), '') AS name, r.status, r.reason,
                       r.send_at, r.message_id, m.status AS message_status, m.error_code, r.updated_at,
                       (extract(epoch FROM r.updated_at) * 1000000)::int8 AS cursor_us
                FROM campaign_recipients r
                LEFT JOIN contacts c ON c.id = r.contact_id
                LEFT JOIN messages m ON m.id = r.message_id
                WHERE r.campaign_id = \(id)
                  AND (\(status) IS NULL OR r.status = \(status) OR m.status = \(status))
                """,
            limit: limit, after: cursor) { row in
            RecipientEntry(
                contactID: try row.decode("id"), phone: try row.decode("phone"), name: try row.decode("name"),
                status: try row.decode("status"), reason: try row.decode("reason"), sendAt: try row.decode("send_at"),
                messageID: try row.decode("message_id"), messageStatus: try row.decode("message_status"),
                errorCode: try row.decode("error_code"), updatedAt: try row.decode("updated_at"))
        }
    }
}
