import Foundation
import Postgres

/// All SQL of outgoing events: the `event_deliveries` outbox that the event sender drains.
struct EventStore: Sendable {
    let pool: PostgresPool

    /// An event claimed for delivery.
    struct Due: Sendable {
        var id: Int64
        var eventID: UUID
        /// The payload exactly as stored (`{"type", "created_at", "data"}`).
        var payload: String
        /// Attempts including this one.
        var attempts: Int
    }

    /// Queues a `message.<status>` event for each message, built from the row as it is now.
    func enqueueMessageEvents(ids: [UUID], now: Date) async throws {
        try await pool.query(
            """
            INSERT INTO event_deliveries (type, payload, next_attempt_at)
            SELECT 'message.' || m.status, jsonb_build_object(
                'type', 'message.' || m.status,
                'created_at', to_char(\(now)::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'data', jsonb_build_object(
                    'id', m.id, 'to', m.to_number, 'status', m.status, 'kind', m.kind, 'channel', m.channel,
                    'provider', COALESCE(p.name, CASE WHEN m.status IN ('sent', 'delivered') AND m.provider_id IS NULL THEN 'outbox' END),
                    'provider_message_id', m.provider_message_id, 'campaign_id', m.campaign_id, 'attempts', m.attempts,
                    'error', CASE WHEN m.error_code IS NULL THEN NULL ELSE jsonb_build_object(
                        'code', m.error_code, 'message', m.error_message, 'provider_code', m.provider_error_code) END)),
                \(now)
            FROM messages m LEFT JOIN providers p ON p.id = m.provider_id
            WHERE m.id = ANY(\(ids)::uuid[])
            """)
        // A code that did not reach its user: the app may offer a resend, perhaps by voice.
        try await pool.query(
            """
            INSERT INTO event_deliveries (type, payload, next_attempt_at)
            SELECT 'verification.delivery_failed', jsonb_build_object(
                'type', 'verification.delivery_failed',
                'created_at', to_char(\(now)::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'data', \(Self.verificationData) || jsonb_build_object(
                    'message_id', m.id, 'message_status', m.status,
                    'error', CASE WHEN m.error_code IS NULL THEN NULL ELSE jsonb_build_object(
                        'code', m.error_code, 'message', m.error_message, 'provider_code', m.provider_error_code) END)),
                \(now)
            FROM messages m JOIN verifications v ON v.id = m.verification_id AND v.message_id = m.id
            WHERE m.id = ANY(\(ids)::uuid[]) AND m.verification_id IS NOT NULL
              AND m.status IN ('undelivered', 'failed', 'canceled') AND m.error_code IS DISTINCT FROM 'code_replaced'
            """)
    }

    /// The `data` of a verification event: what the API shows, never the code.
    static let verificationData: PostgresQuery = """
        jsonb_build_object('id', v.id, 'to', v.to_number, 'country', v.country, 'channel', v.channel, 'purpose', v.purpose,
            'status', v.status, 'send_count', v.send_count, 'attempts_left', GREATEST(0, v.max_checks - v.checks),
            'expires_at', to_char(v.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'test', v.test)
        """

    /// Queues a `verification.<status>` event for each verification, built from the row as it is now.
    func enqueueVerificationEvents(ids: [UUID], now: Date) async throws {
        try await pool.query(
            """
            INSERT INTO event_deliveries (type, payload, next_attempt_at)
            SELECT 'verification.' || v.status, jsonb_build_object(
                'type', 'verification.' || v.status,
                'created_at', to_char(\(now)::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'data', \(Self.verificationData)),
                \(now)
            FROM verifications v
            WHERE v.id = ANY(\(ids)::uuid[])
            """)
    }

    /// Claims up to `limit` due events for `lease`, oldest first; other senders skip them.
    func claimDue(limit: Int, lease: Duration, now: Date) async throws -> [Due] {
        let rows = try await pool.query(
            """
            UPDATE event_deliveries e SET lease_until = \(now.addingTimeInterval(Double(lease.wholeMilliseconds) / 1000)),
                attempts = e.attempts + 1
            WHERE e.id IN (
                SELECT id FROM event_deliveries
                WHERE status = 'pending' AND next_attempt_at <= \(now) AND (lease_until IS NULL OR lease_until < \(now))
                ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING e.id, e.event_id, e.payload::text, e.attempts
            """)
        return try rows.map { row in
            Due(id: try row.decode(0), eventID: try row.decode(1), payload: try row.decode(2), attempts: try row.decode(3))
        }
    }

    func markDelivered(ids: [Int64], now: Date) async throws {
        guard !ids.isEmpty else { return }
        try await pool.query(
            """
            UPDATE event_deliveries SET status = 'delivered', delivered_at = \(now), lease_until = NULL, last_error = NULL
            WHERE id = ANY(\(ids)::int8[])
            """)
    }

    /// Failed attempts: due again after each delay, or failed for good when `final`.
    func markFailed(ids: [Int64], delayMilliseconds: [Int64], errors: [String], final: [Bool], now: Date) async throws {
        guard !ids.isEmpty else { return }
        try await pool.query(
            """
            UPDATE event_deliveries e SET lease_until = NULL, last_error = v.error,
                status = CASE WHEN v.final THEN 'failed' ELSE 'pending' END,
                next_attempt_at = \(now)::timestamptz + v.delay_ms * interval '1 millisecond'
            FROM unnest(\(ids)::int8[], \(delayMilliseconds)::int8[], \(errors)::text[], \(final)::bool[]) AS v(id, delay_ms, error, final)
            WHERE e.id = v.id
            """)
    }

    /// Forgets delivered events older than `age` (housekeeping); failed ones stay for review.
    @discardableResult
    func purgeDelivered(before cutoff: Date) async throws -> Int {
        try await pool.query(
            "DELETE FROM event_deliveries WHERE status = 'delivered' AND delivered_at < \(cutoff)").affectedRows
    }
}
