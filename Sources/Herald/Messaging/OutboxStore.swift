import Foundation
import Postgres

/// What the outbox provider stored instead of sending.
public struct OutboxStore: Sendable {
    let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    public struct Entry: Sendable {
        public var id: UUID
        public var messageID: UUID
        public var to: String
        public var body: String
        public var channel: String
        public var createdAt: Date
    }

    public func entries(to: String?, limit: Int, after cursor: ListCursor?) async throws -> Page<Entry> {
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
            Entry(id: try $0.decode(0), messageID: try $0.decode(1), to: try $0.decode(2), body: try $0.decode(3),
                  channel: try $0.decode(4), createdAt: try $0.decode(5))
        }
    }
}
