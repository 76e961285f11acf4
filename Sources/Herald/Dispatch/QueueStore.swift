import Foundation
import Postgres
import Providers
import SMS

/// All SQL of the queue: claiming due messages, recording what became of them, leases and
/// receipts. `messages` is the queue: dispatchers claim due rows with `FOR UPDATE SKIP
/// LOCKED`, so any number of processes share it without double claims, and record outcomes
/// in batches through `unnest` arrays — no per-message round trip.
///
/// Which status may follow which is decided by the pure ``MessageStatus/after(_:)``; each
/// statement takes its allowed source statuses from ``MessageStatus/sources(of:)``.
/// Deadlines (due times, leases, send times) come from the caller's clock as `now`; only the
/// bookkeeping `updated_at` is the database's own `now()`.
public struct QueueStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

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
        /// The claim cancelled it instead (a marketing message to an unsubscribed number, a
        /// code message whose code expired while it waited).
        public var canceled: Bool
        /// A code message's code, sealed (``CodeSeal``): the body holds ``CodeText`` markers.
        public var sealedCode: [UInt8]?
    }

    /// Claims up to `limit` due messages for `lease`: transactional before marketing, oldest
    /// first. A marketing message whose recipient has unsubscribed since it was queued is
    /// cancelled by the same statement instead of claimed.
    ///
    /// `transactionalOnly` claims no marketing message: for when marketing has filled its
    /// share of the dispatcher's window and only the reserve for codes is left.
    public func claim(limit: Int, lease: Duration, now: Date, transactionalOnly: Bool = false) async throws -> [Claimed] {
        let maximumPriority = transactionalOnly ? MessageKind.transactional.priority : MessageKind.marketing.priority
        let leaseUntil = now.addingTimeInterval(Double(lease.wholeMilliseconds) / 1000)
        let rows = try await pool.query(
            """
            WITH due AS (
                -- Campaign messages honour opt-outs whatever their template's kind.
                SELECT id, status AS locked_status, (kind = 'marketing' OR campaign_id IS NOT NULL) AND EXISTS (
                    SELECT 1 FROM contacts c WHERE c.phone = messages.to_number AND NOT c.subscribed) AS opted_out,
                    -- A code is not sent after it expired: the user has given up on it.
                    COALESCE(code_expires_at <= \(now), false) AS code_expired
                FROM messages
                WHERE status = 'queued' AND send_after <= \(now) AND priority <= \(maximumPriority)
                ORDER BY priority, send_after
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE messages m SET
                status = CASE WHEN due.opted_out OR due.code_expired THEN 'canceled' ELSE 'sending' END,
                attempts = m.attempts + CASE WHEN due.opted_out OR due.code_expired THEN 0 ELSE 1 END,
                lease_until = \(leaseUntil),
                error_code = CASE WHEN due.opted_out THEN 'recipient_unsubscribed'
                                  WHEN due.code_expired THEN 'code_expired' ELSE m.error_code END,
                error_message = CASE WHEN due.opted_out THEN 'the recipient unsubscribed before the message was sent'
                                     WHEN due.code_expired THEN 'the verification code expired before the message could be sent'
                                     ELSE m.error_message END,
                sealed_code = CASE WHEN due.opted_out OR due.code_expired THEN NULL ELSE m.sealed_code END,
                updated_at = now()
            FROM due
            -- Checked again here, on the row version this statement locked (and so updates): a
            -- row another dispatcher claimed and committed in the meantime is left alone. (The
            -- scan above can return it: its status test is implied by the partial index and is
            -- not always re-evaluated when SKIP LOCKED meets a row updated after our snapshot.)
            -- Tested on the locked row's value, not as `m.status = 'queued'`: that qual lets the
            -- planner scan m by the queue's partial index, and with statistics taken before a
            -- large insert (a campaign launch) it joined every queued row to every claimed one,
            -- 21 s per claim behind 100,000 queued messages instead of 20 ms.
            WHERE m.id = due.id AND due.locked_status = 'queued'
            RETURNING m.id, m.to_number, m.country, m.sender, m.body, m.channel, m.kind, m.encoding, m.locale, m.attempts,
                      m.pinned_provider_id, due.opted_out OR due.code_expired, m.sealed_code
            """)
        return try rows.map { row in
            Claimed(
                id: try row.decode(0), to: try row.decode(1), country: try row.decode(2), from: try row.decode(3),
                body: try row.decode(4), channel: try UnknownValue.parse(try row.decode(5)),
                kind: try UnknownValue.parse(try row.decode(6)),
                encoding: try UnknownValue.parse(try row.decode(7)), locale: try row.decode(8),
                attempts: try row.decode(9), pinnedProviderID: try row.decode(10), canceled: try row.decode(11),
                sealedCode: try row.decode(12))
        }
    }

    /// `NOTIFY channel`: messages were queued (see ``QueueNotifier``).
    func notifyQueued(channel: String, origin: String) async throws {
        try await pool.query("SELECT pg_notify(\(channel), \(origin))")
    }

    /// Puts messages whose lease ran out (their process died mid-send) back in the queue.
    @discardableResult
    public func requeueExpiredLeases(now: Date) async throws -> Int {
        let rows = try await pool.query(
            """
            UPDATE messages SET status = 'queued', lease_until = NULL, updated_at = now()
            -- Literal status (= sources(of: .leaseExpired), pinned by a test) so the planner
            -- can use the partial index of in-flight rows.
            WHERE status = 'sending' AND lease_until < \(now)
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
        ids: [UUID], attempts: [Int], providerIDs: [UUID?], providerMessageIDs: [String], now: Date
    ) async throws -> [StatusChange] {
        guard !ids.isEmpty else { return [] }
        let rows = try await pool.query(
            """
            UPDATE messages m SET
                status = CASE WHEN m.status IN ('delivered', 'undelivered') THEN m.status ELSE 'sent' END,
                provider_id = v.provider_id,
                provider_message_id = v.provider_message_id,
                sent_at = \(now), lease_until = NULL, updated_at = now(), sealed_code = NULL,
                error_code = NULL, error_message = NULL, provider_error_code = NULL
            FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(providerIDs)::uuid[], \(providerMessageIDs)::text[])
                 AS v(id, attempts, provider_id, provider_message_id)
            WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = ANY(\(Self.sources(.accepted))::text[])
            RETURNING m.id, m.status
            """)
        return try rows.map { StatusChange(id: try $0.decode(0), status: try UnknownValue.parse(try $0.decode(1))) }
    }

    /// Outbox: stored instead of sent (no provider configured, or an `outbox` provider).
    /// `bodies`: the text as it would have been sent, where it differs from the stored body (a
    /// code message: the outbox, a development sink, is the one place its code is shown).
    public func recordOutboxed(
        ids: [UUID], attempts: [Int], providerIDs: [UUID?], bodies: [String?], now: Date
    ) async throws -> [StatusChange] {
        guard !ids.isEmpty else { return [] }
        return try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                UPDATE messages m SET
                    status = 'sent', provider_id = v.provider_id, provider_message_id = 'outbox-' || m.id::text,
                    sent_at = \(now), lease_until = NULL, updated_at = now(), sealed_code = NULL,
                    error_code = NULL, error_message = NULL, provider_error_code = NULL
                FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(providerIDs)::uuid[]) AS v(id, attempts, provider_id)
                WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = 'sending'
                RETURNING m.id
                """)
            let sentIDs = try rows.map { try $0.decode(0, as: UUID.self) }
            try await connection.query(
                """
                INSERT INTO outbox (message_id, to_number, body, channel)
                SELECT m.id, m.to_number, COALESCE(v.body, m.body), m.channel
                FROM messages m JOIN unnest(\(ids)::uuid[], \(bodies)::text[]) AS v(id, body) ON v.id = m.id
                WHERE m.id = ANY(\(sentIDs)::uuid[])
                """)
            return sentIDs.map { StatusChange(id: $0, status: .sent) }
        }
    }

    /// Back to the queue after a transient failure, due again after `delays`. `counted`
    /// false gives the attempt back (the message never left: a rate limit deferred it).
    public func recordRetry(
        ids: [UUID], attempts: [Int], delayMilliseconds: [Int64], counted: [Bool], providerIDs: [UUID?],
        errorCodes: [String?], errorMessages: [String?], providerErrorCodes: [String?], now: Date
    ) async throws {
        guard !ids.isEmpty else { return }
        try await pool.query(
            """
            UPDATE messages m SET
                status = 'queued', lease_until = NULL, updated_at = now(),
                send_after = \(now)::timestamptz + v.delay_ms * interval '1 millisecond',
                attempts = m.attempts - CASE WHEN v.counted THEN 0 ELSE 1 END,
                provider_id = COALESCE(v.provider_id, m.provider_id),
                error_code = COALESCE(v.error_code, m.error_code),
                error_message = COALESCE(v.error_message, m.error_message),
                provider_error_code = COALESCE(v.provider_error_code, m.provider_error_code)
            FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(delayMilliseconds)::int8[], \(counted)::bool[],
                        \(providerIDs)::uuid[], \(errorCodes)::text[], \(errorMessages)::text[], \(providerErrorCodes)::text[])
                 AS v(id, attempts, delay_ms, counted, provider_id, error_code, error_message, provider_error_code)
            WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = ANY(\(Self.sources(.retry))::text[])
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
                status = 'failed', lease_until = NULL, updated_at = now(), sealed_code = NULL,
                provider_id = COALESCE(v.provider_id, m.provider_id),
                error_code = v.error_code, error_message = v.error_message, provider_error_code = v.provider_error_code
            FROM unnest(\(ids)::uuid[], \(attempts)::int[], \(providerIDs)::uuid[], \(errorCodes)::text[],
                        \(errorMessages)::text[], \(providerErrorCodes)::text[])
                 AS v(id, attempts, provider_id, error_code, error_message, provider_error_code)
            WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = ANY(\(Self.sources(.refused))::text[])
            RETURNING m.id
            """)
        return try rows.map { StatusChange(id: try $0.decode(0), status: .failed) }
    }

    // MARK: Receipts

    /// Applies one delivery receipt from `providerID`'s signed webhook. Returns the new status
    /// when it changed.
    ///
    /// The receipt may only touch a message sent through that provider: one whose recorded
    /// provider is this one and whose provider message id is the receipt's (or not recorded
    /// yet, when the callback URL's `m=` names it); or, while the outcome of its first
    /// submission is still being written (`sending`, no provider recorded), the message `m=`
    /// names. A receipt of one provider can therefore never mark another provider's message,
    /// nor a queued message nobody sent. The moves themselves are ``MessageStatus/after(_:)``'s:
    /// a replayed or late receipt that would not change the status changes nothing.
    ///
    /// `sighting`, when given, is the webhook's replay digest: it is recorded in
    /// `webhook_replays` by the same statement, and a webhook seen before changes nothing.
    /// One statement and one commit for a whole batch (``ReceiptIntake`` gathers concurrent
    /// webhooks into one), the hot path of every delivered message.
    public func applyReceipt(
        _ receipt: DeliveryReceipt, providerID: UUID, messageID: UUID?, now: Date, sighting: [UInt8]? = nil
    ) async throws -> StatusChange? {
        try await applyReceipts([ReceiptUpdate(receipt: receipt, providerID: providerID, messageID: messageID, sighting: sighting)],
                                now: now)[0]
    }

    /// One receipt of a batch (see ``applyReceipt(_:providerID:messageID:now:sighting:)``).
    public struct ReceiptUpdate: Sendable {
        public var receipt: DeliveryReceipt
        public var providerID: UUID
        public var messageID: UUID?
        public var sighting: [UInt8]?

        public init(receipt: DeliveryReceipt, providerID: UUID, messageID: UUID?, sighting: [UInt8]?) {
            self.receipt = receipt; self.providerID = providerID; self.messageID = messageID; self.sighting = sighting
        }
    }

    /// Applies receipts with one statement: for each, what ``applyReceipt(_:providerID:messageID:now:sighting:)``
    /// does for one. Returns one result per receipt, in order. The batch must not hold two
    /// receipts for the same message or with the same sighting (one UPDATE changes a row once):
    /// ``ReceiptIntake`` keeps them apart.
    public func applyReceipts(_ updates: [ReceiptUpdate], now: Date) async throws -> [StatusChange?] {
        var input = (n: [Int](), providers: [UUID](), messageIDs: [UUID?](), providerMessageIDs: [String](), targets: [String](),
                     occurred: [Date?](), codes: [String?](), messages: [String?](), providerCodes: [String?](), sightings: [String?]())
        for (n, update) in updates.enumerated() {
            let receipt = update.receipt
            let target: MessageStatus
            switch receipt.status {
            case .delivered: target = .delivered
            case .undelivered: target = .undelivered
            case .failed: target = .failed
            case .sent, .pending: continue  // says nothing a sent message does not already say
            }
            input.n.append(n)
            input.providers.append(update.providerID)
            input.messageIDs.append(update.messageID)
            input.providerMessageIDs.append(receipt.providerMessageID)
            input.targets.append(target.rawValue)
            input.occurred.append(receipt.occurredAt)
            input.codes.append(target == .delivered ? nil : (target == .undelivered ? "undelivered" : "provider_failed"))
            input.messages.append(target == .delivered ? nil : (receipt.errorMessage ?? "the provider reported \(receipt.providerStatus)"))
            input.providerCodes.append(receipt.errorCode)
            input.sightings.append(update.sighting.map(Self.hex))
        }
        var results = [StatusChange?](repeating: nil, count: updates.count)
        guard !input.n.isEmpty else { return results }
        let rows = try await pool.query(
            """
            WITH input AS (
                SELECT * FROM unnest(\(input.n)::int[], \(input.providers)::uuid[], \(input.messageIDs)::uuid[],
                                     \(input.providerMessageIDs)::text[], \(input.targets)::text[], \(input.occurred)::timestamptz[],
                                     \(input.codes)::text[], \(input.messages)::text[], \(input.providerCodes)::text[],
                                     \(input.sightings)::text[])
                     AS v(n, provider_id, message_id, provider_message_id, target, occurred_at, error_code, error_message,
                          provider_error_code, sighting)
            ),
            -- The replay record commits with the status move: a webhook seen before changes nothing.
            sighting AS (
                INSERT INTO webhook_replays (provider_id, digest, seen_at)
                SELECT provider_id, decode(sighting, 'hex'), \(now) FROM input WHERE sighting IS NOT NULL
                ON CONFLICT (provider_id, digest) DO NOTHING
                RETURNING provider_id, digest
            ),
            found AS (
                SELECT i.*, COALESCE(
                    -- The message the callback URL names, when it is this provider's (or one still
                    -- being sent, its provider not yet recorded); else the provider's id for it.
                    -- Two index lookups, the second only when the first finds nothing. (One OR of
                    -- the three made a bitmap scan of every in-flight row per receipt.)
                    (SELECT id FROM messages
                     WHERE id = i.message_id
                       AND ((provider_id = i.provider_id
                             AND (provider_message_id = i.provider_message_id OR provider_message_id IS NULL))
                            OR (provider_id IS NULL AND status = 'sending'))),
                    (SELECT id FROM messages
                     WHERE provider_id = i.provider_id AND provider_message_id = i.provider_message_id
                     LIMIT 1)) AS id
                FROM input i
                WHERE i.sighting IS NULL
                   OR EXISTS (SELECT 1 FROM sighting s WHERE s.provider_id = i.provider_id AND s.digest = decode(i.sighting, 'hex'))
            )
            UPDATE messages m SET
                status = f.target,
                delivered_at = CASE WHEN f.target = 'delivered' THEN COALESCE(f.occurred_at, \(now)) ELSE m.delivered_at END,
                provider_id = COALESCE(m.provider_id, f.provider_id),
                provider_message_id = COALESCE(m.provider_message_id, f.provider_message_id),
                lease_until = CASE WHEN m.status = 'queued' THEN NULL ELSE m.lease_until END,
                error_code = f.error_code, error_message = f.error_message, provider_error_code = f.provider_error_code,
                updated_at = now()
            FROM found f
            WHERE m.id = f.id
              -- The moves are MessageStatus.after's: a late or replayed receipt that would not
              -- change the status changes nothing.
              AND m.status = ANY(CASE f.target
                                 WHEN 'delivered' THEN \(Self.sources(.deliveredReceipt))::text[]
                                 WHEN 'undelivered' THEN \(Self.sources(.undeliveredReceipt))::text[]
                                 ELSE \(Self.sources(.failedReceipt))::text[] END)
            RETURNING f.n, m.id, f.target
            """)
        for row in rows {
            let n: Int = try row.decode(0)
            results[n] = StatusChange(id: try row.decode(1), status: try UnknownValue.parse(try row.decode(2)))
        }
        return results
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The statuses an event may start from, as the text array statements bind.
    static func sources(_ event: MessageStatus.Event) -> [String] {
        MessageStatus.sources(of: event).map(\.rawValue)
    }
}
