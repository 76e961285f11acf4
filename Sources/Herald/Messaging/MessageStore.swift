import Foundation
import Postgres
import Providers
import SMS

/// All SQL that queues messages and reads them back. Claiming and recording what became of
/// them is the queue's (``QueueStore``).
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
        let status: MessageStatus = try UnknownValue.parse(try row.decode("status"))
        let providerID: UUID? = try row.decode("provider_id")
        var provider: String? = try row.decode("provider_name")
        if provider == nil, [.sent, .delivered].contains(status), providerID == nil { provider = "outbox" }
        return Message(
            id: try row.decode("id"), to: try row.decode("to_number"), from: try row.decode("sender"),
            body: Self.readable(try row.decode("body")),
            channel: try UnknownValue.parse(try row.decode("channel")),
            kind: try UnknownValue.parse(try row.decode("kind")),
            status: status, providerID: providerID, provider: provider,
            providerMessageID: try row.decode("provider_message_id"), attempts: try row.decode("attempts"),
            error: try errorCode.map { .init(code: $0, message: try row.decode("error_message") ?? "", providerCode: try row.decode("provider_error_code")) },
            campaignID: try row.decode("campaign_id"), templateID: try row.decode("template_id"),
            encoding: try UnknownValue.parse(try row.decode("encoding")),
            segments: try row.decode("segments"), characters: try row.decode("characters"), locale: try row.decode("locale"),
            scheduledAt: try row.decode("send_after"), createdAt: try row.decode("created_at"),
            sentAt: try row.decode("sent_at"), deliveredAt: try row.decode("delivered_at"))
    }

    /// A stored body as readers see it: a code message's code masked (the body holds markers,
    /// never the code, and shows the same mask whatever the code's length).
    static func readable(_ body: String) -> String {
        CodeText.masked(body, length: 6)
    }

    // MARK: Queueing

    /// The columns one queued message fills, and ``insertValues(_:measured:now:)`` their values:
    /// for the statements that queue a message as part of something else (a code message is
    /// queued by the statement that creates its verification).
    static let insertColumns: PostgresQuery = """
        (id, to_number, country, sender, body, channel, kind, priority, status, encoding, segments, characters, locale,
         template_id, campaign_id, contact_id, api_key_id, pinned_provider_id, send_after, verification_id, sealed_code,
         code_expires_at)
        """

    static func insertValues(_ new: NewMessage, measured text: MessageText, now: Date) -> PostgresQuery {
        """
        COALESCE(\(new.id), gen_random_uuid()), \(new.to), \(new.country), \(new.from), \(new.body), \(new.channel.rawValue),
        \(new.kind.rawValue), \(new.priority), 'queued', \(text.encoding.rawValue), \(text.segments), \(text.characters),
        \(new.locale), \(new.templateID), \(new.campaignID), \(new.contactID), \(new.apiKeyID), \(new.pinnedProviderID),
        COALESCE(\(new.sendAfter), \(now)::timestamptz), \(new.code?.verificationID), \(new.code?.sealedCode), \(new.code?.expiresAt)
        """
    }

    /// Queues one message. `on` lets the caller insert inside its own transaction.
    public func insert(_ new: NewMessage, measured text: MessageText, now: Date, on connection: PostgresConnection? = nil) async throws -> Message {
        let query: PostgresQuery = """
            WITH inserted AS (
                INSERT INTO messages \(Self.insertColumns)
                VALUES (\(Self.insertValues(new, measured: text, now: now)))
                RETURNING *
            )
            SELECT \(Self.columns) FROM inserted m LEFT JOIN providers p ON p.id = m.provider_id
            """
        let rows: PostgresRows
        if let connection { rows = try await connection.query(query) } else { rows = try await pool.query(query) }
        return try Self.message(rows[0])
    }

    /// Queues several messages with one statement (and, outside a transaction, one commit):
    /// the group commit of ``MessageIntake``. The messages come back in the order given.
    public func insert(_ batch: [(new: NewMessage, text: MessageText)], now: Date) async throws -> [Message] {
        guard !batch.isEmpty else { return [] }
        var batch = batch
        for index in batch.indices where batch[index].new.id == nil { batch[index].new.id = UUID() }
        let ids = batch.map { $0.new.id! }
        let rows = try await pool.query(
            """
            WITH inserted AS (
                \(Self.insert(batch, now: now))
                RETURNING *
            )
            SELECT \(Self.columns) FROM inserted m LEFT JOIN providers p ON p.id = m.provider_id
            """)
        var byID: [UUID: Message] = [:]
        for row in rows {
            let message = try Self.message(row)
            byID[message.id] = message
        }
        return try ids.map { id in
            guard let message = byID[id] else { throw HeraldError(.databaseUnavailable, "a queued message did not come back from the database") }
            return message
        }
    }

    /// `INSERT INTO messages … SELECT … FROM unnest(…) AS v(…)` for `batch` (ids chosen by the
    /// caller), then `filter` (a `WHERE` on the columns of `v`): for statements that queue
    /// messages as part of something else — code messages with their verifications.
    static func insert(_ batch: [(new: NewMessage, text: MessageText)], now: Date, filter: PostgresQuery = "") -> PostgresQuery {
        let news = batch.map(\.new)
        let texts = batch.map(\.text)
        return """
            INSERT INTO messages \(insertColumns)
            SELECT v.id, v.to_number, v.country, v.sender, v.body, v.channel, v.kind, v.priority, 'queued', v.encoding,
                   v.segments, v.characters, v.locale, v.template_id, v.campaign_id, v.contact_id, v.api_key_id,
                   v.pinned_provider_id, COALESCE(v.send_after, \(now)::timestamptz), v.verification_id, decode(v.sealed_code, 'hex'),
                   v.code_expires_at
            FROM unnest(\(news.map { $0.id ?? UUID() })::uuid[], \(news.map(\.to))::text[], \(news.map(\.country))::text[],
                        \(news.map(\.from))::text[], \(news.map(\.body))::text[], \(news.map(\.channel.rawValue))::text[],
                        \(news.map(\.kind.rawValue))::text[], \(news.map(\.priority))::int2[], \(texts.map(\.encoding.rawValue))::text[],
                        \(texts.map(\.segments))::int[], \(texts.map(\.characters))::int[], \(news.map(\.locale))::text[],
                        \(news.map(\.templateID))::uuid[], \(news.map(\.campaignID))::uuid[], \(news.map(\.contactID))::uuid[],
                        \(news.map(\.apiKeyID))::uuid[], \(news.map(\.pinnedProviderID))::uuid[], \(news.map(\.sendAfter))::timestamptz[],
                        \(news.map { $0.code?.verificationID })::uuid[], \(news.map { $0.code.map { QueueStore.hex($0.sealedCode) } })::text[],
                        \(news.map { $0.code?.expiresAt })::timestamptz[])
                 AS v(id, to_number, country, sender, body, channel, kind, priority, encoding, segments, characters, locale,
                      template_id, campaign_id, contact_id, api_key_id, pinned_provider_id, send_after, verification_id, sealed_code,
                      code_expires_at)
            \(filter)
            """
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
}
