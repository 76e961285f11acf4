import Foundation
import Postgres

/// Subscribing and unsubscribing, always with a consent-ledger entry in the same transaction.
public struct ConsentStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    public struct Change: Sendable {
        public var phone: String
        public var subscribe: Bool
        /// `inbound_keyword`, `api`, `dashboard`, `import` …
        public var source: String
        /// The words the person sent, or the consent text they were shown.
        public var text: String?
        public var messageID: UUID?
        public var providerID: UUID?
        public var ip: String?
        public var actor: String?
        /// When the person gave the consent, by the word of whoever recorded it.
        public var consentedAt: Date?
        public init(phone: String, subscribe: Bool, source: String, text: String? = nil, messageID: UUID? = nil,
                    providerID: UUID? = nil, ip: String? = nil, actor: String? = nil, consentedAt: Date? = nil) {
            self.phone = phone; self.subscribe = subscribe; self.source = source; self.text = text
            self.messageID = messageID; self.providerID = providerID; self.ip = ip; self.actor = actor
            self.consentedAt = consentedAt
        }
    }

    /// Sets the contact's subscription (creating the contact when the number is new) and
    /// appends the ledger entry. Returns the contact id.
    @discardableResult
    public func record(_ change: Change) async throws -> UUID {
        try await pool.withTransaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO contacts (phone, subscribed) VALUES (\(change.phone), \(change.subscribe))
                ON CONFLICT (phone) DO UPDATE SET
                    subscribed = excluded.subscribed,
                    -- opting in again brings a deleted contact back (as its number alone)
                    deleted_at = CASE WHEN excluded.subscribed THEN NULL ELSE contacts.deleted_at END,
                    updated_at = now()
                RETURNING id
                """)
            let contactID: UUID = try rows[0].decode(0)
            try await Self.append(change, contactID: contactID, on: connection)
            return contactID
        }
    }

    /// Appends one ledger entry, inside the caller's transaction.
    static func append(_ change: Change, contactID: UUID?, on connection: PostgresConnection) async throws {
        try await connection.query(
            """
            INSERT INTO consent_events (contact_id, phone, action, source, text, message_id, provider_id, ip, actor, consented_at)
            VALUES (\(contactID), \(change.phone), \(change.subscribe ? "subscribe" : "unsubscribe"), \(change.source),
                    \(change.text), \(change.messageID), \(change.providerID), \(change.ip), \(change.actor), \(change.consentedAt))
            """)
    }

    /// Every entry for a number, oldest first (also those from before its contact was deleted).
    public func ledger(phone: String) async throws -> [ConsentEntry] {
        let rows = try await pool.query(
            """
            SELECT action, source, text, ip, actor, message_id, consented_at, occurred_at
            FROM consent_events WHERE phone = \(phone) ORDER BY occurred_at, id
            """)
        return try rows.map {
            ConsentEntry(action: try $0.decode(0), source: try $0.decode(1), text: try $0.decode(2), ip: try $0.decode(3),
                         actor: try $0.decode(4), messageID: try $0.decode(5), consentedAt: try $0.decode(6),
                         occurredAt: try $0.decode(7))
        }
    }

    /// What marketing to a number must respect: whether it is subscribed (nil: never seen) and
    /// the contact's time zone.
    public func marketingStanding(phone: String) async throws -> (subscribed: Bool?, timezone: String?) {
        guard let row = try await pool.query("SELECT subscribed, timezone FROM contacts WHERE phone = \(phone)").first else {
            return (nil, nil)
        }
        return (try row.decode(0), try row.decode(1))
    }

    /// False for a number that opted out (also after its contact was deleted); nil for one never seen.
    public func isSubscribed(phone: String) async throws -> Bool? {
        try await pool.query("SELECT subscribed FROM contacts WHERE phone = \(phone)").first.map { try $0.decode(0) }
    }
}
