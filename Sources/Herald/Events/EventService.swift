import Crypto
import Curl
import Foundation
import Logging
import Postgres
import SMS
import ServiceLifecycle

/// Outgoing events: every message status change becomes a signed JSON POST to the app's
/// `events_url` (settings), retried with backoff until it is taken (2xx).
///
/// Signature: header `Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
/// `"<t>.<raw body>"` with the events signing secret (`GET /v1/settings` shows it to admins).
/// Receivers should refuse timestamps more than five minutes old.
public final class EventService: Sendable {
    let pool: PostgresPool
    let settings: SettingsService
    let signingKey: [UInt8]
    let logger: Logger

    public init(pool: PostgresPool, settings: SettingsService, secret: ServerSecret, logger: Logger) {
        self.pool = pool
        self.settings = settings
        self.signingKey = Array(SettingsService.eventsSigningSecret(secret).utf8)
        self.logger = logger
    }

    /// Queues a `message.<status>` event for each message, when an events URL is set.
    public func messagesChanged(_ ids: [UUID]) async throws {
        guard !ids.isEmpty, try await settings.current().eventsURL != nil else { return }
        try await pool.query(
            """
            INSERT INTO event_deliveries (type, payload)
            SELECT 'message.' || m.status, jsonb_build_object(
                'type', 'message.' || m.status,
                'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'data', jsonb_build_object(
                    'id', m.id, 'to', m.to_number, 'status', m.status, 'kind', m.kind, 'channel', m.channel,
                    'provider', COALESCE(p.name, CASE WHEN m.status IN ('sent', 'delivered') AND m.provider_id IS NULL THEN 'outbox' END),
                    'provider_message_id', m.provider_message_id, 'campaign_id', m.campaign_id, 'attempts', m.attempts,
                    'error', CASE WHEN m.error_code IS NULL THEN NULL ELSE jsonb_build_object(
                        'code', m.error_code, 'message', m.error_message, 'provider_code', m.provider_error_code) END))
            FROM messages m LEFT JOIN providers p ON p.id = m.provider_id
            WHERE m.id = ANY(\(ids)::uuid[])
            """)
    }

    /// `t=…,v1=…` for a body sent at `timestamp`.
    public static func signature(body: [UInt8], timestamp: Int, key: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: key))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    public func signature(body: [UInt8], timestamp: Int) -> String {
        Self.signature(body: body, timestamp: timestamp, key: signingKey)
    }
}

/// Delivers queued events: claims due rows under a lease, posts them concurrently, and
/// reschedules failures with exponential backoff (up to about a day).
public struct EventDeliveryService: Service {
    let events: EventService
    let http: HTTPClient
    let backoff = Backoff(base: .seconds(5), cap: .seconds(3600))
    let maxAttempts = 30
    let logger: Logger

    public init(events: EventService, http: HTTPClient, logger: Logger) {
        self.events = events
        self.http = http
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                let delivered = try await deliverDue()
                if delivered == 0 { try? await Task.sleep(for: .milliseconds(500)) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("event delivery paused after an error", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(2))
            }
        }
    }

    /// One round: returns how many events were attempted.
    @discardableResult
    public func deliverDue(limit: Int = 100) async throws -> Int {
        guard let url = try await events.settings.current().eventsURL else { return 0 }
        let rows = try await events.pool.query(
            """
            UPDATE event_deliveries e SET lease_until = now() + interval '60 seconds', attempts = e.attempts + 1
            WHERE e.id IN (
                SELECT id FROM event_deliveries
                WHERE status = 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
                ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING e.id, e.event_id, e.payload::text, e.attempts
            """)
        guard !rows.isEmpty else { return 0 }
        let jobs = try rows.map { row in
            (id: try row.decode(0, as: Int64.self), eventID: try row.decode(1, as: UUID.self),
             payload: try row.decode(2, as: String.self), attempts: try row.decode(3, as: Int.self))
        }
        let results = await withTaskGroup(of: (Int64, Int, String?).self) { group in
            for job in jobs {
                group.addTask {
                    let body = Self.envelope(eventID: job.eventID, payload: job.payload)
                    let timestamp = Int(Date().timeIntervalSince1970)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "User-Agent", value: "Herald-Events/1")
                    headers.add(name: "Herald-Event-Id", value: job.eventID.uuidString.lowercased())
                    headers.add(name: "Herald-Signature", value: events.signature(body: body, timestamp: timestamp))
                    do {
                        let response = try await http.execute(HTTPRequest(method: .POST, url: url, headers: headers, body: body, timeout: .seconds(10)))
                        return (job.id, job.attempts, (200..<300).contains(response.status) ? nil : "the endpoint answered \(response.status)")
                    } catch {
                        return (job.id, job.attempts, "the endpoint could not be reached (\(error))")
                    }
                }
            }
            var collected: [(Int64, Int, String?)] = []
            for await result in group { collected.append(result) }
            return collected
        }
        var delivered: [Int64] = []
        var retryIDs: [Int64] = [], retryDelays: [Int64] = [], retryErrors: [String] = [], retryFinal: [Bool] = []
        for (id, attempts, error) in results {
            if let error {
                retryIDs.append(id); retryErrors.append(error); retryFinal.append(attempts >= maxAttempts)
                let delay = backoff.delay(afterFailures: attempts)
                retryDelays.append(Int64(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000))
            } else {
                delivered.append(id)
            }
        }
        if !delivered.isEmpty {
            try await events.pool.query(
                "UPDATE event_deliveries SET status = 'delivered', delivered_at = now(), lease_until = NULL, last_error = NULL WHERE id = ANY(\(delivered)::int8[])")
        }
        if !retryIDs.isEmpty {
            try await events.pool.query(
                """
                UPDATE event_deliveries e SET lease_until = NULL, last_error = v.error,
                    status = CASE WHEN v.final THEN 'failed' ELSE 'pending' END,
                    next_attempt_at = now() + v.delay_ms * interval '1 millisecond'
                FROM unnest(\(retryIDs)::int8[], \(retryDelays)::int8[], \(retryErrors)::text[], \(retryFinal)::bool[]) AS v(id, delay_ms, error, final)
                WHERE e.id = v.id
                """)
        }
        return jobs.count
    }

    /// `{"id": event id, …payload}` as bytes, exactly as signed.
    static func envelope(eventID: UUID, payload: String) -> [UInt8] {
        var body = "{\"id\":\"" + eventID.uuidString.lowercased() + "\","
        body += payload.drop(while: { $0 != "{" }).dropFirst()
        return Array(body.utf8)
    }
}

extension Task where Success == Never, Failure == Never {
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
