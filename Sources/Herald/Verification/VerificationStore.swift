import Foundation
import Postgres
import SMS

/// All SQL of verification codes: the `verifications` rows, the fraud guard's blocks, and the
/// figures of conversion. Single use and the attempt limit are each one conditional UPDATE.
struct VerificationStore: Sendable {
    let pool: PostgresPool

    /// A verification with its code's MAC (which never leaves the domain).
    struct Stored: Sendable {
        var verification: Verification
        var codeMAC: [UInt8]
    }

    /// A verification about to be inserted.
    struct New: Sendable {
        var id: UUID
        var to: String
        var country: String?
        var channel: MessageChannel
        var purpose: VerificationPurpose
        var locale: String
        var codeLength: Int
        var codeMAC: [UInt8]
        var payment: PaymentDetails?
        var maxChecks: Int
        var maxSends: Int
        var nextSendAt: Date
        var expiresAt: Date
        var clientIP: String?
        var test: Bool
        var messageID: UUID?
        var apiKeyID: UUID?
    }

    static let columns: PostgresQuery = """
        v.id, v.to_number, v.country, v.channel, v.purpose, v.status, v.locale, v.code_length, v.code_mac, v.expires_at,
        v.send_count, v.max_sends, v.next_send_at, v.checks, v.max_checks, v.payment_amount, v.payment_currency,
        v.payment_payee, v.test, v.message_id, v.created_at, v.updated_at, v.approved_at,
        (SELECT m.status FROM messages m WHERE m.id = v.message_id AND m.status IN ('undelivered', 'failed', 'canceled'))
            AS delivery_status
        """

    static func stored(_ row: PostgresRow) throws -> Stored {
        let amount: String? = try row.decode("payment_amount")
        var payment: PaymentDetails?
        if let amount {
            payment = PaymentDetails(amount: amount, currency: try row.decode("payment_currency") ?? "",
                                     payee: try row.decode("payment_payee") ?? "")
        }
        let verification = Verification(
            id: try row.decode("id"), to: try row.decode("to_number"), country: try row.decode("country"),
            channel: try UnknownValue.parse(try row.decode("channel")), purpose: try UnknownValue.parse(try row.decode("purpose")),
            status: try UnknownValue.parse(try row.decode("status")), locale: try row.decode("locale"),
            codeLength: try row.decode("code_length"), expiresAt: try row.decode("expires_at"),
            sendCount: try row.decode("send_count"), maxSends: try row.decode("max_sends"), nextSendAt: try row.decode("next_send_at"),
            checks: try row.decode("checks"), maxChecks: try row.decode("max_checks"), payment: payment,
            test: try row.decode("test"), messageID: try row.decode("message_id"), deliveryStatus: try row.decode("delivery_status"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"), approvedAt: try row.decode("approved_at"))
        return Stored(verification: verification, codeMAC: try row.decode("code_mac"))
    }

    // MARK: Creating and resending (inside the caller's transaction)

    /// The pending verification of a number and purpose, locked until the caller's transaction
    /// ends: resends of one verification are made one at a time.
    func pendingForUpdate(to: String, purpose: VerificationPurpose, on connection: PostgresConnection) async throws -> Stored? {
        try await connection.query(
            """
            SELECT \(Self.columns) FROM verifications v
            WHERE v.to_number = \(to) AND v.purpose = \(purpose.rawValue) AND v.status = 'pending'
            FOR UPDATE OF v
            """).first.map(Self.stored)
    }

    func pending(to: String, purpose: VerificationPurpose) async throws -> Stored? {
        try await pool.query(
            """
            SELECT \(Self.columns) FROM verifications v WHERE v.to_number = \(to) AND v.purpose = \(purpose.rawValue) AND v.status = 'pending'
            """).first.map(Self.stored)
    }

    /// Ends a pending verification (`expired` or `canceled`), e.g. before a new one replaces it.
    func end(id: UUID, status: VerificationStatus, now: Date, on connection: PostgresConnection? = nil) async throws {
        let query: PostgresQuery =
            "UPDATE verifications SET status = \(status.rawValue), updated_at = \(now) WHERE id = \(id) AND status = 'pending'"
        if let connection { try await connection.query(query) } else { try await pool.query(query) }
    }

    /// A verification to create, with its code message (nil for a test number).
    struct Creation: Sendable {
        var verification: New
        var message: (new: NewMessage, text: MessageText)?
    }

    /// Creates verifications and queues their code messages with one statement — one round trip
    /// and one commit for a whole batch (``VerificationService`` gathers concurrent requests,
    /// as the message intake does). Each comes back, in order, or nil when a pending
    /// verification of its number and purpose stands (the partial unique index decides, so
    /// concurrent creates make exactly one): then it is a resend. A batch must not hold two
    /// creations for one number and purpose.
    func create(_ batch: [Creation], now: Date, on connection: PostgresConnection? = nil) async throws -> [Verification?] {
        guard !batch.isEmpty else { return [] }
        let new = batch.map(\.verification)
        let messages = batch.compactMap(\.message)
        let queueMessages: PostgresQuery = messages.isEmpty ? "" : """
            , message AS (
                \(MessageStore.insert(messages, now: now, filter: "WHERE v.verification_id IN (SELECT id FROM created)"))
            )
            """
        let query: PostgresQuery = """
            WITH created AS (
                INSERT INTO verifications AS v (id, to_number, country, prefix, channel, purpose, locale, status, code_length, code_mac,
                    payment_amount, payment_currency, payment_payee, max_checks, max_sends, next_send_at, expires_at, client_ip,
                    test, message_id, api_key_id, created_at, updated_at)
                SELECT n.id, n.to_number, n.country, n.prefix, n.channel, n.purpose, n.locale, 'pending', n.code_length,
                       decode(n.code_mac, 'hex'), n.payment_amount, n.payment_currency, n.payment_payee, n.max_checks, n.max_sends,
                       n.next_send_at, n.expires_at, n.client_ip, n.test, n.message_id, n.api_key_id, \(now)::timestamptz, \(now)::timestamptz
                FROM unnest(\(new.map(\.id))::uuid[], \(new.map(\.to))::text[], \(new.map(\.country))::text[],
                            \(new.map { NumberPrefix.of($0.to) })::text[], \(new.map(\.channel.rawValue))::text[],
                            \(new.map(\.purpose.rawValue))::text[], \(new.map(\.locale))::text[], \(new.map(\.codeLength))::int[],
                            \(new.map { QueueStore.hex($0.codeMAC) })::text[], \(new.map { $0.payment?.amount })::text[],
                            \(new.map { $0.payment?.currency })::text[], \(new.map { $0.payment?.payee })::text[],
                            \(new.map(\.maxChecks))::int[], \(new.map(\.maxSends))::int[], \(new.map(\.nextSendAt))::timestamptz[],
                            \(new.map(\.expiresAt))::timestamptz[], \(new.map(\.clientIP))::text[], \(new.map(\.test))::bool[],
                            \(new.map(\.messageID))::uuid[], \(new.map(\.apiKeyID))::uuid[])
                     AS n(id, to_number, country, prefix, channel, purpose, locale, code_length, code_mac, payment_amount,
                          payment_currency, payment_payee, max_checks, max_sends, next_send_at, expires_at, client_ip, test,
                          message_id, api_key_id)
                ON CONFLICT (to_number, purpose) WHERE status = 'pending' DO NOTHING
                RETURNING *
            )
            \(queueMessages)
            SELECT \(Self.columns) FROM created v
            """
        let rows = if let connection { try await connection.query(query) } else { try await pool.query(query) }
        var byID: [UUID: Verification] = [:]
        for row in rows {
            let verification = try Self.stored(row).verification
            byID[verification.id] = verification
        }
        return new.map { byID[$0.id] }
    }

    /// A resend: a new code (the old MAC is replaced, so the old code stops working), one more
    /// send, a new lifetime. The check count is kept. The previous code's message is canceled
    /// if it has not left yet, so a stale code is never delivered after the new one.
    func resend(
        id: UUID, codeMAC: [UInt8], channel: MessageChannel, locale: String, codeLength: Int, nextSendAt: Date, expiresAt: Date,
        messageID: UUID?, previousMessageID: UUID?, now: Date, on connection: PostgresConnection
    ) async throws -> Verification {
        if let previousMessageID {
            try await connection.query(
                """
                UPDATE messages SET status = 'canceled', sealed_code = NULL, error_code = 'code_replaced',
                    error_message = 'a newer code was requested before this one was sent', updated_at = now()
                WHERE id = \(previousMessageID) AND status = 'queued'
                """)
        }
        let rows = try await connection.query(
            """
            UPDATE verifications v SET code_mac = \(codeMAC), channel = \(channel.rawValue), locale = \(locale),
                code_length = \(codeLength), send_count = v.send_count + 1, next_send_at = \(nextSendAt), expires_at = \(expiresAt),
                message_id = \(messageID), updated_at = \(now)
            WHERE v.id = \(id) AND v.status = 'pending'
            RETURNING \(Self.columns)
            """)
        return try Self.stored(rows[0]).verification
    }

    // MARK: Reading

    func get(id: UUID) async throws -> Stored? {
        try await pool.query("SELECT \(Self.columns) FROM verifications v WHERE v.id = \(id)").first.map(Self.stored)
    }

    func list(_ filter: VerificationFilter, limit: Int, after cursor: ListCursor?) async throws -> Page<Verification> {
        try await pool.page(
            of: """
                SELECT \(Self.columns), (extract(epoch FROM v.created_at) * 1000000)::int8 AS cursor_us
                FROM verifications v
                WHERE (\(filter.to)::text IS NULL OR v.to_number = \(filter.to))
                  AND (\(filter.status?.rawValue)::text IS NULL OR v.status = \(filter.status?.rawValue))
                  AND (\(filter.purpose?.rawValue)::text IS NULL OR v.purpose = \(filter.purpose?.rawValue))
                  AND (\(filter.channel?.rawValue)::text IS NULL OR v.channel = \(filter.channel?.rawValue))
                """,
            limit: limit, after: cursor) { try Self.stored($0).verification }
    }

    // MARK: Checking

    /// Counts one check of the code whose MAC was `expectedMAC` when the caller read it, and
    /// approves the verification when `matched`. One statement: of any number of concurrent
    /// correct checks exactly one approves (the others find it no longer pending); attempts
    /// never exceed the maximum; a resend in between (another MAC) makes this change nothing
    /// and return nil, so the caller reads again.
    func recordCheck(id: UUID, expectedMAC: [UInt8], matched: Bool, now: Date) async throws -> Verification? {
        let rows = try await pool.query(
            """
            UPDATE verifications v SET
                checks = v.checks + 1,
                status = CASE WHEN \(matched) THEN 'approved'
                              WHEN v.checks + 1 >= v.max_checks THEN 'max_attempts_reached' ELSE v.status END,
                approved_at = CASE WHEN \(matched) THEN \(now) ELSE v.approved_at END,
                updated_at = \(now)
            WHERE v.id = \(id) AND v.status = 'pending' AND v.expires_at > \(now) AND v.code_mac = \(expectedMAC)
              AND v.checks < v.max_checks
            RETURNING \(Self.columns)
            """)
        return try rows.first.map { try Self.stored($0).verification }
    }

    func cancel(id: UUID, now: Date) async throws -> Verification? {
        let rows = try await pool.query(
            """
            WITH canceled AS (
                UPDATE verifications SET status = 'canceled', updated_at = \(now)
                WHERE id = \(id) AND status = 'pending' RETURNING id, message_id
            ), message AS (
                -- A code nobody will check is not worth sending.
                UPDATE messages SET status = 'canceled', sealed_code = NULL, error_code = 'verification_canceled',
                    error_message = 'the verification was canceled before its code was sent', updated_at = now()
                WHERE id = (SELECT message_id FROM canceled) AND status = 'queued'
            )
            SELECT id FROM canceled
            """)
        guard !rows.isEmpty else { return nil }
        return try await get(id: id)?.verification
    }

    /// Marks pending verifications past their lifetime `expired`; returns their ids.
    func expireDue(now: Date, limit: Int = 1000) async throws -> [UUID] {
        try await pool.query(
            """
            UPDATE verifications SET status = 'expired', updated_at = \(now)
            WHERE id IN (SELECT id FROM verifications WHERE status = 'pending' AND expires_at <= \(now) LIMIT \(limit)
                         FOR UPDATE SKIP LOCKED)
              AND status = 'pending'
            RETURNING id
            """).map { try $0.decode(0, as: UUID.self) }
    }

    // MARK: Admission

    /// What stands before a new verification, in one round trip: the pending verification of
    /// the number and purpose (its expiry and payment), and a block in force on the prefix.
    func admission(to: String, purpose: VerificationPurpose, prefix: String, now: Date)
        async throws -> (pending: (expiresAt: Date, payment: PaymentDetails?)?, blockedUntil: Date?)
    {
        let rows = try await pool.query(
            """
            SELECT v.expires_at, v.payment_amount, v.payment_currency, v.payment_payee, b.blocked_until
            FROM (SELECT 1) AS one
            LEFT JOIN verifications v ON v.to_number = \(to) AND v.purpose = \(purpose.rawValue) AND v.status = 'pending'
            LEFT JOIN verification_blocks b ON b.prefix = \(prefix) AND b.blocked_until > \(now) AND b.lifted_at IS NULL
            """)
        let row = rows[0]
        var pending: (Date, PaymentDetails?)?
        if let expiresAt = try row.decode(0, as: Date?.self) {
            let amount: String? = try row.decode(1)
            pending = (expiresAt, try amount.map {
                PaymentDetails(amount: $0, currency: try row.decode(2) ?? "", payee: try row.decode(3) ?? "")
            })
        }
        return (pending, try row.decode(4))
    }

    // MARK: Fraud guard

    /// A block of the fraud guard.
    struct Block: Sendable, Equatable {
        var prefix: String
        var country: String?
        var reason: String
        var created: Int
        var approved: Int
        var blockedAt: Date
        var blockedUntil: Date
        var liftedAt: Date?
        var liftedBy: String?
    }

    func block(prefix: String, country: String?, reason: String, created: Int, approved: Int, until: Date, now: Date) async throws {
        try await pool.query(
            """
            INSERT INTO verification_blocks (prefix, country, reason, created, approved, blocked_at, blocked_until)
            VALUES (\(prefix), \(country), \(reason), \(created), \(approved), \(now), \(until))
            ON CONFLICT (prefix) DO UPDATE SET country = excluded.country, reason = excluded.reason, created = excluded.created,
                approved = excluded.approved, blocked_at = excluded.blocked_at, blocked_until = excluded.blocked_until,
                lifted_at = NULL, lifted_by = NULL
            """)
    }

    /// Blocks in force, newest first.
    func blocks(now: Date) async throws -> [Block] {
        try await pool.query(
            """
            SELECT prefix, country, reason, created, approved, blocked_at, blocked_until, lifted_at, lifted_by
            FROM verification_blocks WHERE blocked_until > \(now) AND lifted_at IS NULL ORDER BY blocked_at DESC LIMIT 500
            """).map(Self.block)
    }

    /// Lifts a block; the guard then judges the prefix only on what happens after the lift.
    func lift(prefix: String, by actor: String, now: Date) async throws -> Bool {
        try await pool.query(
            """
            UPDATE verification_blocks SET lifted_at = \(now), lifted_by = \(actor)
            WHERE prefix = \(prefix) AND lifted_at IS NULL AND blocked_until > \(now)
            """).affectedRows > 0
    }

    static func block(_ row: PostgresRow) throws -> Block {
        Block(prefix: try row.decode(0), country: try row.decode(1), reason: try row.decode(2), created: try row.decode(3),
              approved: try row.decode(4), blockedAt: try row.decode(5), blockedUntil: try row.decode(6),
              liftedAt: try row.decode(7), liftedBy: try row.decode(8))
    }

    // MARK: Figures

    /// Conversion per country and channel since `since` (approved / created, test numbers left out).
    struct Conversion: Sendable, Equatable {
        var country: String?
        var channel: MessageChannel
        var created: Int
        var approved: Int
    }

    func conversion(since: Date) async throws -> [Conversion] {
        try await pool.query(
            """
            SELECT country, channel, count(*)::int8, count(*) FILTER (WHERE status = 'approved')::int8
            FROM verifications WHERE created_at >= \(since) AND NOT test
            GROUP BY country, channel ORDER BY count(*) DESC LIMIT 500
            """).map { row in
            Conversion(country: try row.decode(0), channel: try UnknownValue.parse(try row.decode(1)),
                       created: try row.decode(2), approved: try row.decode(3))
        }
    }
}
