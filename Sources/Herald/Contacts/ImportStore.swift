import Foundation
import Postgres
import SMS

/// An import as the API shows it.
public struct ContactImportRecord: Sendable, Equatable {
    public enum Status: String, Sendable { case running, completed, failed }
    public var id: UUID
    public var status: Status
    public var country: String?
    public var tags: [String]
    /// Rows in the file after the header (blank lines not counted).
    public var totalRows: Int
    /// New contacts.
    public var imported: Int
    /// Contacts that existed and changed.
    public var updated: Int
    /// Contacts that existed and already held what the row said.
    public var unchanged: Int
    public var rejected: Int
    /// The first ``ContactImport/maximumReportedErrors`` rejected rows.
    public var errors: [ContactImport.RowError]
    public var failure: String?
    public var createdAt: Date
    public var finishedAt: Date?
}

/// All SQL of imports: the `imports` rows (migration 0006), and the staging table and the merge
/// into `contacts` of one import.
public struct ImportStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns: PostgresQuery =
        "id, status, country, tags, total_rows, imported, updated, unchanged, rejected, errors, failure, created_at, finished_at"

    static func record(_ row: PostgresRow) throws -> ContactImportRecord {
        ContactImportRecord(
            id: try row.decode("id"), status: try UnknownValue.parse(try row.decode("status")), country: try row.decode("country"),
            tags: try row.decode("tags"), totalRows: try row.decode("total_rows"), imported: try row.decode("imported"),
            updated: try row.decode("updated"), unchanged: try row.decode("unchanged"), rejected: try row.decode("rejected"),
            errors: try row.decodeJSON("errors"), failure: try row.decode("failure"), createdAt: try row.decode("created_at"),
            finishedAt: try row.decode("finished_at"))
    }

    func create(country: String?, tags: [String], actor: String?) async throws -> ContactImportRecord {
        let rows = try await pool.query(
            """
            INSERT INTO imports (status, country, tags, actor) VALUES ('running', \(country), \(tags), \(actor))
            RETURNING \(Self.columns)
            """)
        return try Self.record(rows[0])
    }

    func finish(_ record: ContactImportRecord) async throws -> ContactImportRecord {
        let rows = try await pool.query(
            """
            UPDATE imports SET status = \(record.status.rawValue), total_rows = \(record.totalRows), imported = \(record.imported),
                updated = \(record.updated), unchanged = \(record.unchanged), rejected = \(record.rejected),
                errors = \(PostgresJSON(record.errors)), failure = \(record.failure), finished_at = now()
            WHERE id = \(record.id)
            RETURNING \(Self.columns)
            """)
        return try Self.record(rows[0])
    }

    public func record(id: UUID) async throws -> ContactImportRecord? {
        try await pool.query("SELECT \(Self.columns) FROM imports WHERE id = \(id)").first.map(Self.record)
    }

    public func records(limit: Int, after cursor: ListCursor?) async throws -> Page<ContactImportRecord> {
        try await pool.page(
            of: "SELECT \(Self.columns), (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us FROM imports",
            limit: limit, after: cursor, decode: Self.record)
    }

    // MARK: Staging and merge, on one connection inside one transaction

    /// The staging table of this transaction (dropped at commit), and room for a long merge: a
    /// million rows take longer than the pool's statement timeout allows.
    static func createStaging(on connection: PostgresConnection) async throws {
        try await connection.query("SET LOCAL statement_timeout = '30min'")
        try await connection.query(
            """
            CREATE TEMP TABLE import_rows (
                line integer, phone text, country text, line_type text, first_name text, last_name text, locale text, timezone text,
                tags text[], attributes jsonb
            ) ON COMMIT DROP
            """)
    }

    static let copyStatement: PostgresQuery =
        "COPY import_rows (line, phone, country, line_type, first_name, last_name, locale, timezone, tags, attributes) FROM STDIN"

    /// Writes one accepted row into the COPY.
    static func write(_ row: ContactImport.Row, to writer: PostgresCopyWriter) async throws {
        writer.appendField(row.line)
        writer.appendField(row.phone)
        writer.appendField(row.country)
        writer.appendField(row.lineType)
        writer.appendField(row.firstName)
        writer.appendField(row.lastName)
        writer.appendField(row.locale)
        writer.appendField(row.timezone)
        writer.appendField(ContactImport.arrayLiteral(row.tags))
        writer.appendField(ContactImport.jsonObject(row.attributes))
        try await writer.endRow()
    }

    /// Merges the staged rows into `contacts` in one statement: new numbers become subscribed
    /// contacts with a ledger entry; existing ones take the non-empty cells, merge attributes and
    /// add tags, and are written only when that changes something (a re-import changes nothing).
    /// A deleted contact's number comes back as a contact, still unsubscribed. Rows are locked in
    /// number order, so concurrent imports cannot deadlock.
    static func merge(importID: UUID, actor: String?, on connection: PostgresConnection) async throws -> (imported: Int, updated: Int) {
        let rows = try await connection.query(
            """
            WITH merged AS (
                INSERT INTO contacts AS c (phone, country, line_type, first_name, last_name, locale, timezone, attributes, tags, subscribed)
                SELECT phone, country, line_type, first_name, last_name, locale, timezone, attributes, tags, true
                FROM import_rows ORDER BY phone
                ON CONFLICT (phone) DO UPDATE SET
                    country = COALESCE(excluded.country, c.country),
                    line_type = COALESCE(excluded.line_type, c.line_type),
                    first_name = COALESCE(excluded.first_name, c.first_name),
                    last_name = COALESCE(excluded.last_name, c.last_name),
                    locale = COALESCE(excluded.locale, c.locale),
                    timezone = COALESCE(excluded.timezone, c.timezone),
                    attributes = c.attributes || excluded.attributes,
                    tags = (c.tags || ARRAY(SELECT t FROM unnest(excluded.tags) WITH ORDINALITY AS u(t, n)
                                            WHERE NOT t = ANY (c.tags) ORDER BY n))[1:\(ContactRules.maximumTags)],
                    deleted_at = NULL,
                    created_at = CASE WHEN c.deleted_at IS NULL THEN c.created_at ELSE now() END,
                    updated_at = now()
                WHERE c.deleted_at IS NOT NULL
                   OR (COALESCE(excluded.country, c.country), COALESCE(excluded.first_name, c.first_name),
                       COALESCE(excluded.last_name, c.last_name), COALESCE(excluded.locale, c.locale),
                       COALESCE(excluded.timezone, c.timezone))
                      IS DISTINCT FROM (c.country, c.first_name, c.last_name, c.locale, c.timezone)
                   OR excluded.line_type IS DISTINCT FROM c.line_type
                   OR NOT c.attributes @> excluded.attributes
                   OR NOT c.tags @> excluded.tags
                RETURNING c.id, c.phone, (xmax = 0) AS inserted
            ), ledger AS (
                INSERT INTO consent_events (contact_id, phone, action, source, text, actor)
                SELECT id, phone, 'subscribe', 'import', 'added by CSV import ' || \(importID.uuidString.lowercased()), \(actor)
                FROM merged WHERE inserted
            )
            SELECT count(*) FILTER (WHERE inserted)::int8, count(*) FILTER (WHERE NOT inserted)::int8 FROM merged
            """)
        return (Int(try rows[0].decode(0, as: Int64.self)), Int(try rows[0].decode(1, as: Int64.self)))
    }
}
