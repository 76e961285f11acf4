import Crypto
import Curl
import Foundation
import Logging
import SMS
import ServiceLifecycle

/// Outgoing events: every message status change becomes a signed JSON POST to the app's
/// `events_url` (settings), retried with backoff until it is taken (2xx).
///
/// Signature: header `Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
/// `"<t>.<raw body>"` with the events signing secret (`GET /v1/settings` shows it to admins).
/// Receivers should refuse timestamps more than five minutes old.
public final class EventService: Sendable {
    let store: EventStore
    let settings: SettingsService
    let signingKey: [UInt8]
    let clock: any HeraldClock
    let logger: Logger

    init(store: EventStore, settings: SettingsService, signingSecret: String, clock: any HeraldClock, logger: Logger) {
        self.store = store
        self.settings = settings
        self.signingKey = Array(signingSecret.utf8)
        self.clock = clock
        self.logger = logger
    }

    /// Queues a `message.<status>` event for each message, when an events URL is set — and a
    /// `verification.delivery_failed` event for each code message among them that failed,
    /// came back undelivered or was canceled.
    public func messagesChanged(_ ids: [UUID]) async throws {
        guard !ids.isEmpty, try await settings.current().eventsURL != nil else { return }
        try await store.enqueueMessageEvents(ids: ids, now: clock.now)
    }

    /// Queues a `verification.<status>` event for each verification (never with its code).
    public func verificationsChanged(_ ids: [UUID]) async throws {
        guard !ids.isEmpty, try await settings.current().eventsURL != nil else { return }
        try await store.enqueueVerificationEvents(ids: ids, now: clock.now)
    }

    /// `t=…,v1=…` for a body sent at `timestamp`.
    public static func signature(body: [UInt8], timestamp: Int, key: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: key))
        return "t=\(timestamp),v1=" + QueueStore.hex(Array(mac))
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
    /// How long a claimed event is this sender's before another may take it.
    let lease: Duration = .seconds(60)
    let idlePoll: Duration
    let logger: Logger

    init(events: EventService, http: HTTPClient, idlePoll: Duration = .milliseconds(500), logger: Logger) {
        self.events = events
        self.http = http
        self.idlePoll = idlePoll
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelledOrShuttingDown {
            do {
                let delivered = try await deliverDue()
                if delivered == 0 { try? await Task.sleep(for: idlePoll) }
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
        let jobs = try await events.store.claimDue(limit: limit, lease: lease, now: events.clock.now)
        guard !jobs.isEmpty else { return 0 }
        let results = await withTaskGroup(of: (Int64, Int, String?).self) { group in
            for job in jobs {
                group.addTask {
                    let body = Self.envelope(eventID: job.eventID, payload: job.payload)
                    let timestamp = Int(events.clock.now.timeIntervalSince1970)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "User-Agent", value: "Herald-Events/1")
                    headers.add(name: "Herald-Event-Id", value: job.eventID.uuidString.lowercased())
                    headers.add(name: "Herald-Signature", value: events.signature(body: body, timestamp: timestamp))
                    do {
                        let response = try await http.send(HTTPRequest(method: .POST, url: url, headers: headers, body: body, timeout: .seconds(10)))
                        return (job.id, job.attempts, (200..<300).contains(response.status) ? nil : "the endpoint answered \(response.status)")
                    } catch let error as HTTPClientError {
                        return (job.id, job.attempts, "the endpoint could not be reached (\(error.code))")
                    } catch {
                        return (job.id, job.attempts, "the endpoint could not be reached")
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
                retryDelays.append(backoff.delay(afterFailures: attempts).wholeMilliseconds)
            } else {
                delivered.append(id)
            }
        }
        let now = events.clock.now
        try await events.store.markDelivered(ids: delivered, now: now)
        try await events.store.markFailed(ids: retryIDs, delayMilliseconds: retryDelays, errors: retryErrors, final: retryFinal, now: now)
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
