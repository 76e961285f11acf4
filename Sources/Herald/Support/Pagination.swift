import Foundation
import Postgres

extension PostgresPool {
    /// Runs `base` newest first from after `cursor`, one row more than `limit` to learn
    /// whether a next page exists. `base` must select `cursor_us` (created_at in whole
    /// microseconds) and `id`.
    func page<Item: Sendable>(
        of base: PostgresQuery, limit: Int, after cursor: ListCursor?, decode: (PostgresRow) throws -> Item
    ) async throws -> Page<Item> {
        let rows = try await query(
            """
            SELECT * FROM (\(base)) AS listed
            WHERE \(cursor == nil) OR (cursor_us, id) < (\(cursor?.createdAtMicroseconds ?? 0), \(cursor?.id ?? UUID()))
            ORDER BY cursor_us DESC, id DESC
            LIMIT \(limit + 1)
            """)
        return try Page(rows: rows, limit: limit, decode: decode)
    }
}

extension Page {
    /// A page from `limit + 1` rows newest first (each with `cursor_us` and `id`): the extra row
    /// only says that a next page exists.
    init(rows: PostgresRows, limit: Int, decode: (PostgresRow) throws -> Item) throws {
        let kept = rows.prefix(limit)
        var next: String?
        if rows.count > limit, let last = kept.last {
            next = ListCursor(createdAtMicroseconds: try last.decode("cursor_us"), id: try last.decode("id")).encoded
        }
        self.init(items: try kept.map(decode), nextCursor: next)
    }
}
