import Foundation
import Postgres
import Providers
import SMS

/// All SQL of the message queue. `messages` is the queue: dispatchers claim due rows with
/// `FOR UPDATE SKIP LOCKED`, so any number of processes share it without double claims,
/// and record outcomes in batches through `unnest` arrays — no per-message round trip.
public struct MessageStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns: PostgresQuery = """
        m.id, m.to_number, m.sender, m.body, m.channel, m.kind, m.status, m.provider_id, p.name AS provider_name,
        m.provider_message_id, m.attempts, m.error_code, m.error_message, m.provider_error_code, m.campaign_id,
        m.template_id, m.encoding, m.segments, m.characters, m.locale, m.send_after, m.created_at, m.sent_at, m.delivered_at
        """

    static func message(_ row: PostgresRow) throws -> Message {
        let errorCode: String? = try row.decode("error_code")
        let status = try MessageStatus(rawValue: row.decode("status")) ?? .failed
        let providerID: UUID? = try row.decode("provider_id")
        var provider: String? = try row.decode("provider_name")
        if provider == nil, [.sent, .delivered].contains(status), providerID == nil { provider = "outbox" }
        return Message(
            id: try row.decode("id"), to: try row.decode("to_number"), from: try row.decode("sender"),
            body: try row.decode("body"),
            channel: MessageChannel(rawValue: try row.decode("channel")) ?? .sms,
            kind: MessageKind(rawValue: try row.decode("kind")) ?? .transactional,
            status: status, providerID: providerID, provider: provider,
            providerMessageID: try row.decode("provider_message_id"), attempts: try row.decode("attempts"),
            error: try errorCode.map { .init(code: $0, message: try row.decode("error_message") ?? "", providerCode: try row.decode("provider_error_code")) },
            campaignID: try row.decode("campaign_id"), templateID: try row.decode("template_id"),
            encoding: SMSEncoding(rawValue: try row.decode("encoding")) ?? .gsm7,
            segments: try row.decode("segments"), characters: try row.decode("characters"), locale: try row.decode("locale"),
            scheduledAt: try row.decode("send_after"), createdAt: try row.decode("created_at"),
            sentAt: try row.decode("sent_at"), deliveredAt: try row.decode("delivered_at"))
    }

    // MARK: Queueing

    /// Queues one message. `on` lets the caller insert inside its own transaction.
    public func insert(_ new: NewMessage, measured text: MessageText, on connection: PostgresConnection? = nil) async throws -> Message {
        let query: PostgresQuery = """
            WITH inserted AS (
                INSERT INTO messages (to_number, country, sender, body, channel, kind, priority, status, encoding, segments,
                                      characters, locale, template_id, campaign_id, contact_id, api_key_id, pinned_provider_id, send_after)
                VALUES (\(new.to), \(new.country), \(new.from), \(new.body), \(new.channel.rawValue), \(new.kind.rawValue),
                        \(new.kind.priority), 'queued', \(text.encoding.rawValue), \(text.segments), \(text.characters), \(new.locale),
                        \(new.templateID), \(new.campaignID), \(new.contactID), \(new.apiKeyID), \(new.pinnedProviderID),
                        COALESCE(\(new.sendAfter), now()))
                RETURNING *
            )
            SELECT \(Self.columns) FROM inserted m LEFT JOIN providers p ON p.id = m.provider_id
            """
        let rows: PostgresRows
        if let connection { rows = try await connection.query(query) } else { rows = try await pool.query(query) }
        return try Self.message(rows[0])
    }

    public func message(id: UUID) async throws -> Message? {
        let rows = try await pool.query(
            "SELECT \(Self.columns) FROM messages m LEFT JOIN providers p ON p.id = m.provider_id WHERE m.id = \(id)")
        return try rows.first.map(Self.message)
    }

    /// Newest first, keyset-paginated on (created_at, id).
    public func messages(_ filter: MessageFilter, limit: Int, after cursor: ListCursor?) async throws -> Page<Message> {
        let cursorTime = cursor.map { Date(timeIntervalSince1970: Double($0.createdAtMicroseconds) / 1_000_000) }
        let conditions: PostgresQuery = """
            (\(filter.campaignID)::uuid IS NULL OR m.campaign_id = \(filter.campaignID))
              AND (\(filter.status?.rawValue)::text IS NULL OR m.status = \(filter.status?.rawValue))
              AND (\(cursor == nil) OR (m.created_at, m.id) < (\(cursorTime ?? Date()), \(cursor?.id ?? UUID())))
            """
        let rows: PostgresRows
        if let to = filter.to {
            // Settled messages of a number come from its (partial) index; the few still queued
            // or in flight from the queue's indexes.
            rows = try await pool.query(
                """
                SELECT * FROM (
                    SELECT \(Self.columns), (extract(epoch FROM m.created_at) * 1000000)::int8 AS cursor_us
                    FROM messages m LEFT JOIN providers p ON p.id = m.provider_id
                    WHERE m.to_number = \(to) AND m.status IN ('sent', 'delivered', 'undelivered', 'failed', 'canceled') AND \(conditions)
                    UNION ALL
                    SELECT \(Self.columns), (extract(epoch FROM m.created_at) * 1000000)::int8 AS cursor_us
                    FROM messages m LEFT JOIN providers p ON p.id = m.provider_id
                    WHERE m.to_number = \(to) AND m.status = 'queued' AND \(conditions)
                    UNION ALL
                    SELECT \(Self.columns), (extract(epoch FROM m.created_at) * 1000000)::int8 AS cursor_us
                    FROM messages m LEFT JOIN providers p ON p.id = m.provider_id
                    WHERE m.to_number = \(to) AND m.status = 'sending' AND \(conditions)
                ) AS listed
                ORDER BY created_at DESC, id DESC
                LIMIT \(limit + 1)
                """)
        } else {
            rows = try await pool.query(
                """
                SELECT \(Self.columns), (extract(epoch FROM m.created_at) * 1000000)::int8 AS cursor_us
                FROM messages m LEFT JOIN providers p ON p.id = m.provider_id
                WHERE \(conditions)
                ORDER BY m.created_at DESC, m.id DESC
                LIMIT \(limit + 1)
                """)
        }
        return try Page(rows: rows, limit: limit, decode: Self.message)
    }

    // MARK: Dispatch

    /// A claimed message, with what the dispatcher needs to send it.
    public struct Claimed: Sendable {
        public var id: UUID
        public var to: String
        public var country: String?
        public var from: String?
        public var body: String
        public var channel: MessageChannel
        public var kind: MessageKind
        public var encoding: SMSEncoding
        public var locale: String?
        /// Attempts including this one: also the claim's token (a re-claim increments it).
        public var attempts: Int
        public var pinnedProviderID: UUID?
        /// The claim cancelled it instead (a marketing message to an unsubscribed number).
        public var canceled: Bool
    }

    /// Claims up to `limit` due messages for `lease`: transactional before marketing, oldest
    /// first. A marketing message whose recipient has unsubscribed since it was queued is
    /// cancelled by the same statement instead of claimed.
    public func claim(limit: Int, lease: Duration) async throws -> [Claimed] {
        let leaseMilliseconds = Int64(lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000)
        let rows = try await pool.query(
            """
            WITH due AS (
                SELECT id, kind = 'marketing' AND EXISTS (
                    SELECT 1 FROM contacts c WHERE c.phone = messages.to_number AND NOT c.subscribed) AS opted_out
                FROM messages
                WHERE status = 'queued' AND send_after <= now()
                ORDER BY priority, send_after
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE messages m SET
                status = CASE WHEN due.opted_out THEN 'canceled' ELSE 'sending' END,
                attempts = m.attempts + CASE WHEN due.opted_out THEN 0 ELSE 1 END,
                lease_until = now() + \(leaseMilliseconds) * interval '1 millisecond',
                error_code = CASE WHEN due.opted_out THEN 'recipient_unsubscribed' ELSE m.error_code END,
                error_message = CASE WHEN due.opted_out THEN 'the recipient unsubscribed before the message was sent' ELSE m.error_message END,
                updated_at = now()
            FROM due
            -- Checked again here, on the row version this statement updates: a row another
            -- dispatcher claimed and committed in the meantime is left alone. (The scan above
            -- can return it: its status test is implied by the partial index and is not always
            -- re-evaluated when SKIP LOCKED meets a row that was updated after our snapshot.)
            WHERE m.id = due.id AND m.status = 'queued'
            RETURNING m.id, m.to_number, m.country, m.sender, m.body, m.channel, m.kind, m.encoding, m.locale, m.attempts,
                      m.pinned_provider_id, due.opted_out
            """)
        return try rows.map { row in
            Claimed(
                id: try row.decode(0), to: try row.decode(1), country: try row.decode(2), from: try row.decode(3),
                body: try row.decode(4), channel: MessageChannel(rawValue: try row.decode(5)) ?? .sms,
                kind: MessageKind(rawValue: try row.decode(6)) ?? .transactional,
                encoding: SMSEncoding(rawValue: try row.decode(7)) ?? .gsm7, locale: try row.decode(8),
                attempts: try row.decode(9), pinnedProviderID: try row.decode(10), canceled: try row.decode(11))
        }
    }

    /// Puts messages whose lease ran out (their process died mid-send) back in the queue.
    @discardableResult
    public func requeueExpiredLeases() async throws -> Int {
        let rows = try await pool.query(
            """
            UPDATE messages SET status = 'queued', lease_until = NULL, updated_at = now()
            WHERE status = 'sending' AND lease_until < now()
            RETURNING id
            """)
        return rows.count
    }

    /// A status change the recorder made, for outgoing events.
    public struct StatusChange: Sendable {
        public var id: UUID
        public var status: MessageStatus
    }

    /// Sent: the provider accepted them. A receipt that already arrived (delivered or
    /// undelivered) is kept. Rows re-claimed by someone else since (attempts moved on) are
    /// left alone.
    public func recordSent(
        ids: [UUID], attempts: [Int], providerIDs: [UUID?], providerMessageIDs: [String]
    ) async throws -> [StatusChange] {
        guard !ids.isEmpty else { return [] }
        let rows = try await pool.query(
            """
            UPDATE messages m SET
                status = CASE WHEN m.status IN ('delivered', 'undelivered') THEN m.status ELSE 'sent' END,
                provider_id = v.provider_id,
                provider_message_id = v.provider_message_id,
                sent_at = now(), lease_until = NULL, updated_at = now(),
                error_code = NULL, error_message = NULL, provider_error_code = NULL
            FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(providerIDs)::uuid[], \(providerMessageIDs)::text[])
                 AS v(id, attempts, provider_id, provider_message_id)
            WHERE m.id = v.id AND m.attempts = v.attempts AND m.status IN ('sending', 'delivered', 'undelivered')
            RETURNING m.id, m.status
            """)
        return try rows.map { StatusChange(id: try $0.decode(0), status: MessageStatus(rawValue: try $0.decode(1)) ?? .sent) }
    }

    /// Outbox: stored instead of sent (no provider configured, or an `outbox` provider).
    public func recordOutboxed(
        ids: [UUID], attempts: [Int], providerIDs: [UUID?]
    ) async throws -> [StatusChange] {
        guard !ids.isEmpty else { return [] }
        return try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                UPDATE messages m SET
                    status = 'sent', provider_id = v.provider_id, provider_message_id = 'outbox-' || m.id::text,
                    sent_at = now(), lease_until = NULL, updated_at = now(),
                    error_code = NULL, error_message = NULL, provider_error_code = NULL
                FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(providerIDs)::uuid[]) AS v(id, attempts, provider_id)
                WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = 'sending'
                RETURNING m.id, m.to_number, m.body, m.channel
                """)
            let sentIDs = try rows.map { try $0.decode(0, as: UUID.self) }
            try await connection.query(
                """
                INSERT INTO outbox (message_id, to_number, body, channel)
                SELECT m.id, m.to_number, m.body, m.channel FROM messages m WHERE m.id = ANY(\(sentIDs)::uuid[])
                """)
            return sentIDs.map { StatusChange(id: $0, status: .sent) }
        }
    }

    /// Back to the queue after a transient failure, due again after `delays`. `counted`
    /// false gives the attempt back (the message never left: a rate limit deferred it).
    public func recordRetry(
        ids: [UUID], attempts: [Int], delayMilliseconds: [Int64], counted: [Bool], providerIDs: [UUID?],
        errorCodes: [String?], errorMessages: [String?], providerErrorCodes: [String?]
    ) async throws {
        guard !ids.isEmpty else { return }
        try await pool.query(
            """
            UPDATE messages m SET
                status = 'queued', lease_until = NULL, updated_at = now(),
                send_after = now() + v.delay_ms * interval '1 millisecond',
                attempts = m.attempts - CASE WHEN v.counted THEN 0 ELSE 1 END,
                provider_id = COALESCE(v.provider_id, m.provider_id),
                error_code = COALESCE(v.error_code, m.error_code),
                error_message = COALESCE(v.error_message, m.error_message),
                provider_error_code = COALESCE(v.provider_error_code, m.provider_error_code)
            FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(delayMilliseconds)::int8[], \(counted)::bool[],
                        \(providerIDs)::uuid[], \(errorCodes)::text[], \(errorMessages)::text[], \(providerErrorCodes)::text[])
                 AS v(id, attempts, delay_ms, counted, provider_id, error_code, error_message, provider_error_code)
            WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = 'sending'
            """)
    }

    /// Failed for good: the provider's code is kept on the message.
    public func recordFailed(
        ids: [UUID], attempts: [Int], providerIDs: [UUID?], errorCodes: [String], errorMessages: [String], providerErrorCodes: [String?]
    ) async throws -> [StatusChange] {
        guard !ids.isEmpty else { return [] }
        let rows = try await pool.query(
            """
            UPDATE messages m SET
                status = 'failed', lease_until = NULL, updated_at = now(),
                provider_id = COALESCE(v.provider_id, m.provider_id),
                error_code = v.error_code, error_message = v.error_message, provider_error_code = v.provider_error_code
            FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(providerIDs)::uuid[], \(errorCodes)::text[],
                        \(errorMessages)::text[], \(providerErrorCodes)::text[])
                 AS v(id, attempts, provider_id, error_code, error_message, provider_error_code)
            WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = 'sending'
            RETURNING m.id
            """)
        return try rows.map { StatusChange(id: try $0.decode(0), status: .failed) }
    }

    // MARK: Receipts

    /// Applies one delivery receipt. The message is found by Herald's id (carried in the
    /// callback URL) or by the provider's id. Returns the new status when it changed.
    ///
    /// Allowed moves: `delivered` from queued/sending/sent/undelivered (a late success wins,
    /// and a queued retry of a message that did arrive is not sent again); `undelivered` and
    /// `failed` from sending/sent. `sent` and `pending` receipts change nothing.
    public func applyReceipt(
        _ receipt: DeliveryReceipt, providerID: UUID, messageID: UUID?
    ) async throws -> StatusChange? {
        let target: MessageStatus
        switch receipt.status {
        case .delivered: target = .delivered
        case .undelivered: target = .undelivered
        case .failed: target = .failed
        case .sent, .pending: return nil
        }
        let from: [String] = target == .delivered ? ["queued", "sending", "sent", "undelivered"] : ["sending", "sent"]
        let errorCode: String? = target == .delivered ? nil : (target == .undelivered ? "undelivered" : "provider_failed")
        let errorMessage: String? = target == .delivered ? nil : (receipt.errorMessage ?? "the provider reported \(receipt.providerStatus)")
        let rows = try await pool.query(
            """
            UPDATE messages SET
                status = \(target.rawValue),
                delivered_at = CASE WHEN \(target.rawValue) = 'delivered' THEN COALESCE(\(receipt.occurredAt), now()) ELSE delivered_at END,
                provider_id = COALESCE(provider_id, \(providerID)),
                provider_message_id = COALESCE(provider_message_id, \(receipt.providerMessageID)),
                lease_until = CASE WHEN status = 'queued' THEN NULL ELSE lease_until END,
                error_code = \(errorCode), error_message = \(errorMessage), provider_error_code = \(receipt.errorCode),
                updated_at = now()
            WHERE id = (
                SELECT id FROM messages
                WHERE (id = \(messageID) OR (provider_id = \(providerID) AND provider_message_id = \(receipt.providerMessageID)))
                ORDER BY (id = \(messageID)) DESC NULLS LAST
                LIMIT 1)
              AND status = ANY(\(from)::text[])
            RETURNING id
            """)
        guard let row = rows.first else { return nil }
        return StatusChange(id: try row.decode(0), status: target)
    }
}
