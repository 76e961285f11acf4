import Foundation
import Postgres

/// All SQL of provider webhooks: inbound messages and the record of webhooks already taken.
struct WebhookStore: Sendable {
    let pool: PostgresPool
    /// How long a webhook is remembered: well past every provider's retry schedule and
    /// signature freshness window.
    static let replayWindow: TimeInterval = 24 * 3600

    /// Records that the webhook with `digest` is being taken. False when it was taken
    /// before: a replay, to be acknowledged and ignored. Atomic, so of two identical
    /// webhooks racing exactly one is taken.
    func firstSighting(providerID: UUID, digest: [UInt8], now: Date) async throws -> Bool {
        try await pool.query(
            """
            INSERT INTO webhook_replays (provider_id, digest, seen_at) VALUES (\(providerID), \(digest), \(now))
            ON CONFLICT (provider_id, digest) DO NOTHING
            RETURNING 1
            """).count == 1
    }

    /// Forgets a sighting whose processing failed, so the provider's retry is taken.
    func forget(providerID: UUID, digest: [UInt8]) async throws {
        try await pool.query("DELETE FROM webhook_replays WHERE provider_id = \(providerID) AND digest = \(digest)")
    }

    @discardableResult
    func purgeSightings(now: Date) async throws -> Int {
        try await pool.query("DELETE FROM webhook_replays WHERE seen_at < \(now.addingTimeInterval(-Self.replayWindow))").affectedRows
    }

    /// Stores an inbound message. Nil when the provider already delivered this one (same
    /// provider message id): a provider retrying must not unsubscribe or reply twice.
    func insertInbound(providerID: UUID, providerMessageID: String?, from: String, to: String, body: String,
                       keyword: String?) async throws -> UUID? {
        let rows = try await pool.query(
            """
            INSERT INTO inbound_messages (provider_id, provider_message_id, from_number, to_number, body, keyword)
            VALUES (\(providerID), \(providerMessageID), \(from), \(to), \(body), \(keyword))
            ON CONFLICT (provider_id, provider_message_id) WHERE provider_message_id IS NOT NULL DO NOTHING
            RETURNING id
            """)
        return try rows.first?.decode(0)
    }
}
