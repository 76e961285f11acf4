import Foundation
import Postgres
import SMS

/// All SQL of the contact aggregate (`contacts`, `consent_events`; migrations 0002 and 0006).
///
/// A deleted contact that had opted out remains as its number alone (`deleted_at` set,
/// unsubscribed); no read here returns it, but upserts and opt-ins find it again.
public struct ContactStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns: PostgresQuery =
        "id, phone, country, first_name, last_name, locale, timezone, attributes, tags, subscribed, created_at, updated_at"

    static func contact(_ row: PostgresRow) throws -> Contact {
        Contact(
            id: try row.decode("id"), phone: try row.decode("phone"), country: try row.decode("country"),
            firstName: try row.decode("first_name"), lastName: try row.decode("last_name"), locale: try row.decode("locale"),
            timezone: try row.decode("timezone"), attributes: try row.decodeJSON("attributes"), tags: try row.decode("tags"),
            subscribed: try row.decode("subscribed"), createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"))
    }

    /// What an upsert writes, already validated; `change` merges it into the stored contact.
    public struct Upsert: Sendable {
        public var phone: String
        public var country: String?
        /// libphonenumber's type of the number (`mobile`, `fixed_line`, …), stored for campaign estimates.
        public var lineType: String?
        /// Applied to the stored contact (or to an empty one for a new number); throws to refuse.
        public var change: @Sendable (Contact) throws -> Contact
        /// The ledger entry for an opt-in given with this upsert (always written for a new contact).
        public var consent: ConsentStore.Change?
    }

    /// Creates or updates the contact of `upsert.phone` under a row lock, and writes the ledger
    /// entry in the same transaction. A new contact is subscribed, with an entry saying how it came;
    /// an existing one changes subscription only with consent. Returns the contact and whether it was new.
    public func upsert(_ upsert: Upsert, newContactConsent: ConsentStore.Change) async throws -> (Contact, created: Bool) {
        try await pool.withTransaction { connection in
            var created = false
            var row = try await connection.query(
                "SELECT \(Self.columns), deleted_at IS NOT NULL AS deleted FROM contacts WHERE phone = \(upsert.phone) FOR UPDATE").first
            if row == nil {
                row = try await connection.query(
                    """
                    INSERT INTO contacts (phone, country, line_type) VALUES (\(upsert.phone), \(upsert.country), \(upsert.lineType))
                    ON CONFLICT (phone) DO NOTHING
                    RETURNING \(Self.columns), false AS deleted
                    """).first
                created = row != nil
                if row == nil {  // inserted by someone else meanwhile: now it can be locked
                    row = try await connection.query(
                        "SELECT \(Self.columns), deleted_at IS NOT NULL AS deleted FROM contacts WHERE phone = \(upsert.phone) FOR UPDATE").first
                }
            }
            guard let row else { throw HeraldError(.databaseUnavailable, "the contact could not be written") }
            let current = try Self.contact(row)
            // A deleted contact's number, added again: written even if nothing else changes.
            let revived = try row.decode("deleted", as: Bool.self)
            var next = try upsert.change(current)
            let consent = created ? (upsert.consent ?? newContactConsent) : upsert.consent
            if consent != nil { next.subscribed = true }
            var stored = current
            if next != current || revived {
                let rows = try await connection.query(
                    """
                    UPDATE contacts SET country = \(next.country), first_name = \(next.firstName), last_name = \(next.lastName),
                        locale = \(next.locale), timezone = \(next.timezone), attributes = \(PostgresJSON(next.attributes)),
                        tags = \(next.tags), subscribed = \(next.subscribed), deleted_at = NULL,
                        line_type = COALESCE(\(upsert.lineType), line_type),
                        created_at = CASE WHEN deleted_at IS NULL THEN created_at ELSE now() END, updated_at = now()
                    WHERE id = \(current.id)
                    RETURNING \(Self.columns)
                    """)
                stored = try Self.contact(rows[0])
            } else if let lineType = upsert.lineType {
                // Contacts stored before numbers' types were kept learn theirs.
                try await connection.query(
                    "UPDATE contacts SET line_type = \(lineType) WHERE id = \(current.id) AND line_type IS DISTINCT FROM \(lineType)")
            }
            if let consent { try await ConsentStore.append(consent, contactID: stored.id, on: connection) }
            return (stored, created || revived)
        }
    }

    /// Up to `limit` contacts whose number's type is not stored yet (older than migration 0008).
    func untyped(limit: Int) async throws -> [(id: UUID, phone: String)] {
        try await pool.query("SELECT id, phone FROM contacts WHERE line_type IS NULL ORDER BY id LIMIT \(limit)").map {
            (try $0.decode(0), try $0.decode(1))
        }
    }

    /// Stores numbers' types, one statement for the batch.
    func setLineTypes(_ types: [(id: UUID, lineType: String)]) async throws {
        guard !types.isEmpty else { return }
        try await pool.query(
            """
            UPDATE contacts c SET line_type = v.line_type
            FROM unnest(\(types.map(\.id))::uuid[], \(types.map(\.lineType))::text[]) AS v(id, line_type)
            WHERE c.id = v.id AND c.line_type IS NULL
            """)
    }

    public func contact(id: UUID) async throws -> Contact? {
        try await pool.query("SELECT \(Self.columns) FROM contacts WHERE id = \(id) AND deleted_at IS NULL").first.map(Self.contact)
    }

    /// Newest first. `search` matches part of the number (digits) or of a first or last name.
    public func contacts(_ filter: ContactFilter, segment: SegmentRule? = nil, now: Date = Date(), limit: Int,
                         after cursor: ListCursor?) async throws -> Page<Contact> {
        var conditions: [PostgresQuery] = ["deleted_at IS NULL"]
        if let segment { conditions.append(PostgresQuery.segment(segment, now: now)) }
        if let cursor {
            conditions.append(
                "(created_at, id) < (timestamptz 'epoch' + \(cursor.createdAtMicroseconds) * interval '1 microsecond', \(cursor.id))")
        }
        if let tag = filter.tag { conditions.append("tags @> ARRAY[\(tag)]::text[]") }
        if let subscribed = filter.subscribed { conditions.append("subscribed = \(subscribed)") }
        if let search = filter.search {
            let digits = search.filter(\.isASCII).filter(\.isNumber)
            let pattern = "%" + LikePattern.escaped(search) + "%"
            if !digits.isEmpty, search.allSatisfy({ $0.isNumber || "+ -().".contains($0) }) {
                conditions.append("phone LIKE \("%" + digits + "%")")
            } else {
                conditions.append(
                    "(first_name ILIKE \(pattern) ESCAPE '\\' OR last_name ILIKE \(pattern) ESCAPE '\\' OR (first_name || ' ' || last_name) ILIKE \(pattern) ESCAPE '\\')")
            }
        }
        let rows = try await pool.query(
            """
            SELECT \(Self.columns), (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us FROM contacts
            WHERE \(PostgresQuery.joined(conditions, separator: " AND "))
            ORDER BY created_at DESC, id DESC
            LIMIT \(limit + 1)
            """)
        return try Page(rows: rows, limit: limit, decode: Self.contact)
    }

    /// Reads the contact under a row lock, lets `change` compute its new state, and writes it.
    /// Nil when there is no such contact.
    public func update(id: UUID, _ change: (Contact) throws -> Contact) async throws -> Contact? {
        try await pool.withTransaction { connection in
            let rows = try await connection.query(
                "SELECT \(Self.columns) FROM contacts WHERE id = \(id) AND deleted_at IS NULL FOR UPDATE")
            guard let row = rows.first else { return nil }
            let current = try Self.contact(row)
            let next = try change(current)
            guard next != current else { return current }
            let updated = try await connection.query(
                """
                UPDATE contacts SET first_name = \(next.firstName), last_name = \(next.lastName), locale = \(next.locale),
                    timezone = \(next.timezone), attributes = \(PostgresJSON(next.attributes)), tags = \(next.tags), updated_at = now()
                WHERE id = \(id)
                RETURNING \(Self.columns)
                """)
            return try Self.contact(updated[0])
        }
    }

    /// Sets the subscription of the contact `id` with its ledger entry (`change.phone` is taken
    /// from the contact). Nil when there is no such contact.
    public func setSubscribed(id: UUID, _ change: ConsentStore.Change) async throws -> Contact? {
        try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                UPDATE contacts SET subscribed = \(change.subscribe), updated_at = now()
                WHERE id = \(id) AND deleted_at IS NULL
                RETURNING \(Self.columns)
                """)
            guard let row = rows.first else { return nil }
            let contact = try Self.contact(row)
            var entry = change
            entry.phone = contact.phone
            try await ConsentStore.append(entry, contactID: contact.id, on: connection)
            return contact
        }
    }

    /// Removes the contact's personal data. One that opted out stays as its number alone, still
    /// unsubscribed; any other is deleted. Its ledger entries stay (they are the proof of consent).
    /// False when there was no such contact.
    public func delete(id: UUID) async throws -> Bool {
        let rows = try await pool.query(
            """
            WITH kept AS (
                UPDATE contacts SET first_name = NULL, last_name = NULL, locale = NULL, timezone = NULL,
                    attributes = '{}'::jsonb, tags = '{}', deleted_at = now(), updated_at = now()
                WHERE id = \(id) AND deleted_at IS NULL AND NOT subscribed
                RETURNING id
            ), removed AS (
                DELETE FROM contacts WHERE id = \(id) AND deleted_at IS NULL AND subscribed
                RETURNING id
            )
            SELECT (SELECT count(*) FROM kept) + (SELECT count(*) FROM removed)
            """)
        return try rows[0].decode(0, as: Int64.self) == 1
    }
}
