import Foundation
import Postgres
import SMS

/// What the outbox provider stored instead of sending.
struct OutboxStore: Sendable {
    let pool: PostgresPool

    func entries(to: String?, limit: Int, after cursor: ListCursor?) async throws -> Page<OutboxEntry> {
        let cursorTime = cursor.map { Date(timeIntervalSince1970: Double($0.createdAtMicroseconds) / 1_000_000) }
        let rows = try await pool.query(
            """
            SELECT id, message_id, to_number, body, channel, created_at, (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us
            FROM outbox
            WHERE (\(to)::text IS NULL OR to_number = \(to))
              AND (\(cursor == nil) OR (created_at, id) < (\(cursorTime ?? Date()), \(cursor?.id ?? UUID())))
            ORDER BY created_at DESC, id DESC
            LIMIT \(limit + 1)
            """)
        return try Page(rows: rows, limit: limit) {
            OutboxEntry(id: try $0.decode(0), messageID: try $0.decode(1), to: try $0.decode(2), body: try $0.decode(3),
                        channel: try UnknownValue.parse(try $0.decode(4)), createdAt: try $0.decode(5))
        }
    }
}

/// A message the outbox provider stored instead of sending.
public struct OutboxEntry: Sendable, Equatable {
    public var id: UUID
    public var messageID: UUID
    public var to: String
    public var body: String
    public var channel: MessageChannel
    public var createdAt: Date
}
