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
        public init(phone: String, subscribe: Bool, source: String, text: String? = nil, messageID: UUID? = nil,
                    providerID: UUID? = nil, ip: String? = nil, actor: String? = nil) {
            self.phone = phone; self.subscribe = subscribe; self.source = source; self.text = text
            self.messageID = messageID; self.providerID = providerID; self.ip = ip; self.actor = actor
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
                ON CONFLICT (phone) DO UPDATE SET subscribed = excluded.subscribed, updated_at = now()
                RETURNING id
                """)
            let contactID: UUID = try rows[0].decode(0)
            try await connection.query(
                """
                INSERT INTO consent_events (contact_id, phone, action, source, text, message_id, provider_id, ip, actor)
                VALUES (\(contactID), \(change.phone), \(change.subscribe ? "subscribe" : "unsubscribe"), \(change.source),
                        \(change.text), \(change.messageID), \(change.providerID), \(change.ip), \(change.actor))
                """)
            return contactID
        }
    }

    public struct LedgerEntry: Sendable {
        public var action: String
        public var source: String
        public var text: String?
        public var messageID: UUID?
        public var occurredAt: Date
    }

    public func ledger(phone: String) async throws -> [LedgerEntry] {
        let rows = try await pool.query(
            "SELECT action, source, text, message_id, occurred_at FROM consent_events WHERE phone = \(phone) ORDER BY occurred_at, id")
        return try rows.map {
            LedgerEntry(action: try $0.decode(0), source: try $0.decode(1), text: try $0.decode(2), messageID: try $0.decode(3), occurredAt: try $0.decode(4))
        }
    }

    public func isSubscribed(phone: String) async throws -> Bool? {
        try await pool.query("SELECT subscribed FROM contacts WHERE phone = \(phone)").first.map { try $0.decode(0) }
    }
}
