import Curl
import Foundation
import Logging
import Postgres
import ServiceLifecycle
import SMS

/// The whole application, built in one place: the database pool and the HTTP client (as
/// lifecycle services), every store, every service, and each background worker by name.
///
/// `herald serve`, `herald worker`, the one-shot commands, the tests and the benchmarks all
/// build Herald through this type, so wiring is written once. Nothing outside `Herald`
/// sees the database: the HTTP layer and the CLI talk to the services.
///
/// Lifecycle: run ``lifecycle`` first and the workers after them in one `ServiceGroup` (the
/// HTTP server last); a graceful shutdown then stops the server, the workers, the HTTP
/// client and finally the pool and the embedded database, in that order. Code that never
/// runs the services (tests, one-shot commands) calls ``close()``, which does the same.
public struct HeraldCore: Sendable {
    /// What differs between `serve`, `worker`, tests and benchmarks.
    public struct Options: Sendable {
        public var dispatcher = DispatcherConfiguration()
        public var identityLimits = IdentityService.Limits()
        /// bcrypt cost of new password hashes (tests use the minimum, 4).
        public var passwordCost: UInt8 = 11
        /// The clock every deadline reads; tests pass a ``AdjustableClock``.
        public var clock: any HeraldClock = SystemClock()
        /// How often idle event senders look for due events.
        public var eventPoll: Duration = .milliseconds(500)
        public init() {}
    }

    /// The background work of a process, each by name.
    public struct Workers: Sendable {
        /// Claims, routes, submits and records messages.
        public let dispatcher: Dispatcher
        /// Wakes the dispatcher when another process queues a message (`LISTEN`).
        public let queueListener: QueueListener
        /// Requeues messages whose dispatcher died mid-send.
        public let leaseReaper: LeaseReaper
        /// Delivers signed outgoing events to the app's `events_url`.
        public let eventSender: EventDeliveryService
        /// Purges what expires (sessions, idempotency keys, delivered events, …) and marks
        /// verifications past their lifetime expired.
        public let housekeeping: Housekeeping
        /// Starts scheduled campaigns and feeds sending ones into the queue.
        public let campaignScheduler: CampaignScheduler

        /// All of them, in start order.
        public var all: [any Service] { [dispatcher, queueListener, leaseReaper, eventSender, housekeeping, campaignScheduler] }
    }

    public let configuration: HeraldConfiguration
    public let clock: any HeraldClock
    /// The folder holding `web/`, `templates/`, `migrations/` and `openapi.yaml`.
    public let resourceDirectory: String
    /// Where the embedded cluster lives, when there is one.
    public let embeddedDirectory: String?

    let database: DatabaseService
    let httpClient: HTTPClientService

    public let identity: IdentityService
    public let settings: SettingsService
    public let templates: TemplateService
    public let contacts: ContactService
    public let imports: ImportService
    public let segments: SegmentService
    public let campaigns: CampaignService
    public let messages: MessageService
    public let verifications: VerificationService
    public let providers: ProviderService
    public let webhooks: WebhookService
    public let consent: ConsentService
    public let events: EventService
    public let health: HealthService
    public let audit: AuditService
    public let statistics: StatisticsService
    public let callbacks: CallbackURLs
    /// The key apps verify outgoing events with (shown in `GET /v1/settings`).
    public let eventsSigningSecret: String
    public let workers: Workers

    /// The database pool and the HTTP client as services: run them before the workers.
    public var lifecycle: [any Service] { [database, httpClient] }

    /// Builds Herald over `database` (tests and benchmarks pass their own; ``open`` resolves
    /// the configured one).
    public init(
        configuration: HeraldConfiguration, database: PostgresConfiguration, secret: ServerSecret,
        resourceDirectory: String, options: Options = Options(), logger: Logger
    ) throws {
        try self.init(configuration: configuration, database: database, runtime: nil, secret: secret,
                  resourceDirectory: resourceDirectory, options: options, logger: logger)
    }

    init(
        configuration: HeraldConfiguration, database: PostgresConfiguration, runtime: DatabaseRuntime?, stopEmbeddedOnClose: Bool = false,
        secret: ServerSecret, resourceDirectory: String, options: Options, logger: Logger
    ) throws {
        let verificationTexts = try VerificationTexts.load(directory: resourceDirectory + "/templates/verification")
        let clock = options.clock
        self.configuration = configuration
        self.clock = clock
        self.resourceDirectory = resourceDirectory
        self.embeddedDirectory = runtime?.embedded?.clusterDirectory
        self.database = DatabaseService(database: Self.session(database, configuration), poolSize: configuration.databasePoolSize,
                                        runtime: runtime, stopEmbedded: stopEmbeddedOnClose, logger: logger)
        let pool = self.database.pool

        // Requests in flight: the window minus outcomes waiting to be written. A hung provider
        // request holds its connection until it times out, so allow plenty, but not so many
        // that a provider's accept queue overflows (resets after a request was read would
        // make retries that duplicate messages).
        let window = options.dispatcher.window
        var httpConfiguration = HTTPClient.Configuration()
        let connections = min(max(window, 64), DispatcherConfiguration.maximumConnectionsPerHost)
        httpConfiguration.maxConcurrentTransfers = connections + 64
        httpConfiguration.maxConnectionsPerHost = connections
        // Checked on the address each connection actually reaches (DNS rebinding, redirects).
        let urlPolicy = OutboundURLPolicy(configuration: configuration)
        httpConfiguration.addressPolicy = urlPolicy.addressPolicy
        let http = HTTPClient(configuration: httpConfiguration, logger: logger)
        httpClient = HTTPClientService(client: http)

        // Stores: all the SQL, one per aggregate.
        let messageStore = MessageStore(pool: pool)
        let queueStore = QueueStore(pool: self.database.queuePool)
        let providerStore = ProviderStore(pool: pool, secret: secret)
        let consentStore = ConsentStore(pool: pool)
        let idempotencyStore = IdempotencyStore(pool: pool)
        let eventStore = EventStore(pool: pool)
        let webhookStore = WebhookStore(pool: pool)

        // Services.
        identity = IdentityService(store: IdentityStore(pool: pool), rateLimits: RateLimitStore(pool: pool),
                                   hasher: PasswordHasher(cost: options.passwordCost), limits: options.identityLimits,
                                   now: { clock.now }, logger: logger)
        // Read on every send and every recorded outcome (cached briefly): refreshed through the
        // dispatcher's pool, never queued behind receipts on the shared one.
        settings = SettingsService(store: SettingsStore(pool: self.database.queuePool), urlPolicy: urlPolicy, logger: logger)
        eventsSigningSecret = SettingsService.eventsSigningSecret(secret)
        events = EventService(store: eventStore, settings: settings, signingSecret: eventsSigningSecret, clock: clock, logger: logger)
        callbacks = CallbackURLs(publicURL: configuration.resolvedPublicURL)
        consent = ConsentService(store: consentStore)
        // The dispatcher's view of providers (routes, rate reservations) reads through its own pool.
        let queueProviderStore = ProviderStore(pool: self.database.queuePool, secret: secret)
        let directory = ProviderDirectory(store: queueProviderStore)
        let providerClient = ProviderClient(http: http, timeout: options.dispatcher.providerTimeout)
        providers = ProviderService(store: providerStore, directory: directory, client: providerClient,
                                    callbacks: callbacks, urlPolicy: urlPolicy, logger: logger)
        templates = TemplateService(store: TemplateStore(pool: pool), logger: logger)
        let wakeUp = WakeSignal()
        // This process's dispatcher directly; other processes' through PostgreSQL.
        let notifier = QueueNotifier(store: QueueStore(pool: self.database.notifyPool))
        let intake = MessageIntake(store: MessageStore(pool: self.database.intakePool), writers: DatabaseService.intakeConnections,
                                   onQueued: { wakeUp.signal(); notifier.notify() })
        messages = MessageService(store: messageStore, intake: intake, outbox: OutboxStore(pool: pool), idempotency: idempotencyStore,
                                  consent: consentStore, settings: settings, templates: templates, clock: clock, logger: logger)
        let segmentStore = SegmentStore(pool: pool)
        segments = SegmentService(store: segmentStore, clock: clock, logger: logger)
        contacts = ContactService(store: ContactStore(pool: pool), segments: segmentStore, consent: consentStore, messages: messages,
                                  clock: clock, logger: logger)
        let campaignWake = WakeSignal()
        campaigns = CampaignService(store: CampaignStore(pool: pool), templates: templates, segments: segments, settings: settings,
                                    clock: clock, wake: { campaignWake.signal() }, onQueued: { wakeUp.signal(); notifier.notify() },
                                    logger: logger.with("component", "campaigns"))
        imports = ImportService(store: ImportStore(pool: pool), pool: pool, logger: logger)
        // Receipts have their own pool: a flood of them must not hold the dispatcher's connections.
        webhooks = WebhookService(directory: directory, messages: messageStore, queue: QueueStore(pool: self.database.receiptPool),
                                  store: webhookStore,
                                  consent: consentStore, settings: settings, events: events,
                                  replies: ReplyTexts(directory: resourceDirectory + "/templates/replies"),
                                  clock: clock, logger: logger)
        health = HealthService(pool: pool)
        statistics = StatisticsService(store: StatisticsStore(pool: pool), clock: clock)
        audit = AuditService(store: AuditStore(pool: pool), logger: logger.with("component", "audit"))
        let codeSeal = CodeSeal(secret: secret)
        verifications = VerificationService(
            store: VerificationStore(pool: pool), messages: messageStore, idempotency: idempotencyStore,
            limits: RateLimitStore(pool: pool), settings: settings, texts: verificationTexts, codes: VerificationCodes(secret: secret),
            seal: codeSeal, events: events, clock: clock, onQueued: { wakeUp.signal(); notifier.notify() },
            logger: logger.with("component", "verifications"))

        workers = Workers(
            dispatcher: Dispatcher(store: queueStore, providers: queueProviderStore, directory: directory, client: providerClient,
                                   callbacks: callbacks, codeSeal: codeSeal, events: events, configuration: options.dispatcher, clock: clock,
                                   wakeUp: wakeUp, logger: logger.with("component", "dispatcher")),
            queueListener: QueueListener(database: Self.session(database, configuration), wakeUp: wakeUp, origin: notifier.origin,
                                         logger: logger.with("component", "queue-listener")),
            leaseReaper: LeaseReaper(queue: queueStore, clock: clock, logger: logger.with("component", "lease-reaper")),
            eventSender: EventDeliveryService(events: events, http: http, idlePoll: options.eventPoll,
                                              logger: logger.with("component", "events")),
            housekeeping: Housekeeping(identity: identity, idempotency: idempotencyStore, events: eventStore,
                                       webhooks: webhookStore, providers: providerStore, verifications: verifications,
                                       statistics: statistics, clock: clock,
                                       logger: logger.with("component", "housekeeping")),
            campaignScheduler: CampaignScheduler(campaigns: campaigns, contacts: contacts, wakeUp: campaignWake, logger: logger.with("component", "campaign-scheduler")))
    }

    /// Resolves the configured database (`DATABASE_URL`, or the embedded cluster, started
    /// when needed), applies pending migrations and builds Herald over it.
    ///
    /// `ownsEmbeddedDatabase`: stop the embedded server on close even when another process
    /// started it (`serve` owns it; one-shot commands stop only what they started).
    public static func open(
        configuration: HeraldConfiguration, options: Options = Options(), ownsEmbeddedDatabase: Bool = false,
        migrate: Bool = true, logger: Logger
    ) async throws -> HeraldCore {
        let resources = try ResourceLocator.locate(explicit: configuration.resourceDirectory)
        // Generated on first start in embedded mode; a missing one with DATABASE_URL stops here.
        let secret = try ServerSecret.load(configuration: configuration)
        // Checked before a database is started for nothing: Herald does not run with broken texts.
        _ = try VerificationTexts.load(directory: resources + "/templates/verification")
        let runtime = try await DatabaseRuntime.open(configuration, logger: logger)
        let core = try HeraldCore(
            configuration: configuration, database: runtime.configuration, runtime: runtime,
            stopEmbeddedOnClose: ownsEmbeddedDatabase || runtime.startedEmbedded,
            secret: secret, resourceDirectory: resources, options: options, logger: logger)
        if migrate {
            do {
                try await core.migrate(logger: logger)
            } catch {
                await core.close()
                throw error
            }
        }
        return core
    }

    /// Every connection of the application runs under the statement timeout.
    static func session(_ database: PostgresConfiguration, _ configuration: HeraldConfiguration) -> PostgresConfiguration {
        var database = database
        database.serverSettings["statement_timeout"] = String(configuration.statementTimeout.wholeMilliseconds)
        return database
    }

    /// Applies pending migrations; returns the versions applied.
    @discardableResult
    public func migrate(logger: Logger) async throws -> [Int] {
        try await Migrator(directory: resourceDirectory + "/migrations", logger: logger).migrate(database.pool)
    }

    /// Stops what ``lifecycle`` runs, for code that never ran it: the HTTP client, then the
    /// pool and the embedded database. Safe to call more than once.
    public func close() async {
        await httpClient.close()
        await database.close()
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = "\(value)"
        return copy
    }
}
