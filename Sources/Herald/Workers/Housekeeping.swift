import Foundation
import Logging
import ServiceLifecycle

/// Periodic clean-up of everything that expires: sessions and login-throttling windows,
/// `Idempotency-Key`s past 24 hours, delivered outgoing events, remembered webhooks and
/// old per-second provider rate windows. Each purge is one indexed DELETE.
public struct Housekeeping: Service {
    let identity: IdentityService
    let idempotency: IdempotencyStore
    let events: EventStore
    let webhooks: WebhookStore
    let providers: ProviderStore
    let verifications: VerificationService
    let statistics: StatisticsService
    let clock: any HeraldClock
    let interval: Duration
    let logger: Logger
    /// Delivered events are kept this long for support questions, then dropped.
    static let deliveredEventRetention: TimeInterval = 7 * 24 * 3600

    init(identity: IdentityService, idempotency: IdempotencyStore, events: EventStore, webhooks: WebhookStore,
         providers: ProviderStore, verifications: VerificationService, statistics: StatisticsService, clock: any HeraldClock, interval: Duration = .seconds(60),
         logger: Logger) {
        self.verifications = verifications
        self.statistics = statistics
        self.identity = identity
        self.idempotency = idempotency
        self.events = events
        self.webhooks = webhooks
        self.providers = providers
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    /// A first pass at start-up (an upgrade with history gets its settled hours counted before
    /// anyone opens the overview), then one every `interval`.
    public func run() async throws {
        await repeatEvery(interval, immediately: true) { await purge() }
    }

    /// One pass over every purge; a failing one is logged and does not stop the others.
    public func purge() async {
        let now = clock.now
        let steps: [(String, () async throws -> Void)] = [
            ("sessions", { try await identity.purgeExpired() }),
            ("idempotency_keys", { try await idempotency.purge(now: now) }),
            ("event_deliveries", { try await events.purgeDelivered(before: now.addingTimeInterval(-Self.deliveredEventRetention)) }),
            ("webhook_replays", { try await webhooks.purgeSightings(now: now) }),
            ("provider_rate_windows", { try await providers.purgeRateWindows(before: Int64(now.timeIntervalSince1970) - 120) }),
            ("verifications_expired", { try await verifications.expireDue() }),
            ("message_hour_counts", { try await statistics.countSettledHours() }),
        ]
        for (name, step) in steps {
            do { try await step() }
            catch { logger.warning("housekeeping step failed", metadata: ["housekeeping.step": "\(name)", "error": "\(error)"]) }
        }
    }
}
