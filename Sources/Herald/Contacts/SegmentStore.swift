import Foundation
import Postgres
import SMS

/// A saved segment.
public struct Segment: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var rule: SegmentRule
    public var createdAt: Date
    public var updatedAt: Date
}

extension PostgresQuery {
    /// A compiled segment rule as a query fragment: its SQL text is the compiler's fixed fragments
    /// and placeholders, its values bound (renumbered wherever the fragment is embedded).
    static func segment(_ rule: SegmentRule, now: Date) -> PostgresQuery {
        let compiled = rule.sql(now: now)
        var bindings = PostgresBindings()
        for parameter in compiled.parameters {
            switch parameter {
            case .text(let text): bindings.append(text)
            case .texts(let texts): bindings.append(texts)
            case .number(let number): bindings.append(number)
            case .time(let time): bindings.append(time)
            case .integer(let integer): bindings.append(integer)
            }
        }
        return PostgresQuery(unsafeSQL: compiled.text, bindings: bindings)
    }
}

/// All SQL of segments (`segments`, migration 0007) and of counting and sampling contacts by a rule.
public struct SegmentStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns: PostgresQuery = "id, name, rule, created_at, updated_at"

    static func segment(_ row: PostgresRow) throws -> Segment {
        let json: JSONValue = try row.decodeJSON("rule")
        let rule: SegmentRule
        do { rule = try SegmentRule.parse(json) } catch { throw HeraldError(.invalidRule, "a stored segment rule no longer reads: \(error.message)") }
        return Segment(id: try row.decode("id"), name: try row.decode("name"), rule: rule,
                       createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    static let nameTaken = HeraldError(.alreadyExists, "a segment with this name already exists", field: "name")

    func insert(name: String, rule: SegmentRule) async throws -> Segment {
        do {
            let rows = try await pool.query(
                "INSERT INTO segments (name, rule) VALUES (\(name), \(PostgresJSON(rule.json))) RETURNING \(Self.columns)")
            return try Self.segment(rows[0])
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw Self.nameTaken
        }
    }

    public func segment(id: UUID) async throws -> Segment? {
        try await pool.query("SELECT \(Self.columns) FROM segments WHERE id = \(id)").first.map(Self.segment)
    }

    func segments(limit: Int, after cursor: ListCursor?) async throws -> Page<Segment> {
        try await pool.page(
            of: "SELECT \(Self.columns), (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us FROM segments",
            limit: limit, after: cursor, decode: Self.segment)
    }

    func update(id: UUID, name: String?, rule: SegmentRule?) async throws -> Segment? {
        do {
            let rows = try await pool.query(
                """
                UPDATE segments SET name = COALESCE(\(name), name), rule = COALESCE(\(rule.map { PostgresJSON($0.json) }), rule),
                    updated_at = now()
                WHERE id = \(id)
                RETURNING \(Self.columns)
                """)
            return try rows.first.map(Self.segment)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw Self.nameTaken
        }
    }

    func delete(id: UUID) async throws -> Bool {
        if try await pool.query(
            """
            DELETE FROM segments WHERE id = \(id)
              AND NOT EXISTS (SELECT 1 FROM campaigns WHERE segment_id = \(id) AND status NOT IN ('completed', 'canceled'))
            """).affectedRows == 1 { return true }
        // Still there: a campaign that has not finished uses it.
        if try await !pool.query("SELECT 1 FROM segments WHERE id = \(id)").isEmpty {
            throw HeraldError(.inUse, "a campaign that has not finished uses this segment; cancel or finish it first")
        }
        return false
    }

    /// How many contacts (not deleted) the rule matches, and how many of them are subscribed.
    func count(_ rule: SegmentRule, now: Date) async throws -> (matching: Int, subscribed: Int) {
        let rows = try await pool.query(
            """
            SELECT count(*)::int8, count(*) FILTER (WHERE subscribed)::int8 FROM contacts
            WHERE deleted_at IS NULL AND \(PostgresQuery.segment(rule, now: now))
            """)
        return (Int(try rows[0].decode(0, as: Int64.self)), Int(try rows[0].decode(1, as: Int64.self)))
    }

    /// The newest contacts the rule matches.
    func sample(_ rule: SegmentRule, now: Date, limit: Int) async throws -> [Contact] {
        try await pool.query(
            """
            SELECT \(ContactStore.columns) FROM contacts
            WHERE deleted_at IS NULL AND \(PostgresQuery.segment(rule, now: now))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """).map(ContactStore.contact)
    }
}
