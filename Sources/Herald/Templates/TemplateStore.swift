import Foundation
import Postgres

/// All SQL of the template aggregate (`templates`, migration 0002).
///
/// Values are validated by ``TemplateService`` before they get here; the table's CHECKs are the
/// last line. Lists use keyset pagination on `(created_at, id)`, newest first.
public struct TemplateStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns: PostgresQuery = "id, name, channel, kind, body, translations, created_at, updated_at"

    static func template(_ row: PostgresRow) throws -> Template {
        guard let channel = Template.Channel(rawValue: try row.decode("channel")),
            let kind = Template.Kind(rawValue: try row.decode("kind"))
        else { throw HeraldError(.validationFailed, "unknown channel or kind stored for a template") }
        return Template(
            id: try row.decode("id"), name: try row.decode("name"), channel: channel, kind: kind,
            body: try row.decode("body"), translations: try row.decodeJSON("translations"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// Inserts a template; a taken name is `alreadyExists`.
    public func insert(
        name: String, channel: Template.Channel, kind: Template.Kind, body: String, translations: [String: String]
    ) async throws -> Template {
        do {
            let rows = try await pool.query(
                """
                INSERT INTO templates (name, channel, kind, body, translations)
                VALUES (\(name), \(channel.rawValue), \(kind.rawValue), \(body), \(PostgresJSON(translations)))
                RETURNING \(Self.columns)
                """)
            return try Self.template(rows[0])
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw Self.nameTaken
        }
    }

    public func template(id: UUID) async throws -> Template? {
        let rows = try await pool.query("SELECT \(Self.columns) FROM templates WHERE id = \(id)")
        return try rows.first.map(Self.template)
    }

    public func template(name: String) async throws -> Template? {
        let rows = try await pool.query("SELECT \(Self.columns) FROM templates WHERE name = \(name)")
        return try rows.first.map(Self.template)
    }

    /// Newest first, `limit` per page.
    public func templates(limit: Int, after cursor: ListCursor?) async throws -> Page<Template> {
        try await pool.page(
            of: "SELECT \(Self.columns), (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us FROM templates",
            limit: limit, after: cursor, decode: Self.template)
    }

    /// Reads the template under a row lock, lets `change` compute its new state, and writes it,
    /// so two concurrent patches of different translations both land. Nil when there is no such template.
    public func update(id: UUID, _ change: (Template) throws -> Template) async throws -> Template? {
        do {
            return try await pool.withTransaction { connection in
                let rows = try await connection.query("SELECT \(Self.columns) FROM templates WHERE id = \(id) FOR UPDATE")
                guard let row = rows.first else { return nil }
                let current = try Self.template(row)
                let next = try change(current)
                guard next != current else { return current }
                let updated = try await connection.query(
                    """
                    UPDATE templates
                    SET name = \(next.name), channel = \(next.channel.rawValue), kind = \(next.kind.rawValue),
                        body = \(next.body), translations = \(PostgresJSON(next.translations)), updated_at = now()
                    WHERE id = \(id)
                    RETURNING \(Self.columns)
                    """)
                return try Self.template(updated[0])
            }
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw Self.nameTaken
        }
    }

    /// False when there was no such template. Messages keep their text; their `template_id` becomes NULL.
    public func delete(id: UUID) async throws -> Bool {
        if try await pool.query(
            """
            DELETE FROM templates WHERE id = \(id)
              AND NOT EXISTS (SELECT 1 FROM campaigns WHERE template_id = \(id) AND status NOT IN ('completed', 'canceled'))
            """).affectedRows == 1 { return true }
        // Still there: a campaign that has not finished uses it.
        if try await !pool.query("SELECT 1 FROM templates WHERE id = \(id)").isEmpty {
            throw HeraldError(.inUse, "a campaign that has not finished uses this template; cancel or finish it first")
        }
        return false
    }

    static let nameTaken = HeraldError(.alreadyExists, "a template with this name already exists", field: "name")
}
