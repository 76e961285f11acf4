import Curl
import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Everything that sends: settings, messages, providers, webhooks, events and the dispatcher,
/// built once from the configuration and shared by the HTTP layer and the workers.
public struct MessagingEngine: Sendable {
    public let settings: SettingsService
    public let templates: TemplateService
    public let messages: MessageService
    public let messageStore: MessageStore
    public let providers: ProviderService
    public let providerStore: ProviderStore
    public let webhooks: WebhookService
    public let consent: ConsentStore
    public let events: EventService
    public let callbacks: CallbackURLs
    public let http: HTTPClient
    let providerClient: ProviderClient
    public let dispatcherConfiguration: DispatcherConfiguration
    let pool: PostgresPool
    let logger: Logger

    public init(
        configuration: HeraldConfiguration, pool: PostgresPool, secret: ServerSecret, resourceDirectory: String,
        dispatcher: DispatcherConfiguration = DispatcherConfiguration(),
        logger: Logger
    ) {
        self.pool = pool
        self.logger = logger
        self.dispatcherConfiguration = dispatcher
        var httpConfiguration = HTTPClient.Configuration()
        // Requests in flight: the window minus outcomes waiting to be written. A hung provider
        // request holds its connection until it times out, so allow plenty, but not so many
        // that a provider's accept queue overflows (resets after a request was read would
        // make retries that duplicate messages).
        httpConfiguration.maxConcurrentTransfers = min(max(dispatcher.window, 64), 512) + 64
        httpConfiguration.maxConnectionsPerHost = min(max(dispatcher.window, 64), 512)
        http = HTTPClient(configuration: httpConfiguration, logger: logger)
        settings = SettingsService(pool: pool, logger: logger)
        messageStore = MessageStore(pool: pool)
        providerStore = ProviderStore(pool: pool, secret: secret)
        callbacks = CallbackURLs(publicURL: configuration.resolvedPublicURL)
        events = EventService(pool: pool, settings: settings, secret: secret, logger: logger)
        consent = ConsentStore(pool: pool)
        let directory = ProviderDirectory(store: providerStore)
        providerClient = ProviderClient(http: http, timeout: dispatcher.providerTimeout)
        providers = ProviderService(store: providerStore, directory: directory, client: providerClient,
                                    callbacks: callbacks, logger: logger)
        templates = TemplateService(store: TemplateStore(pool: pool), logger: logger)
        messages = MessageService(store: messageStore, pool: pool, settings: settings, templates: templates, logger: logger)
        webhooks = WebhookService(providers: providerStore, messages: messageStore, consent: consent, settings: settings,
                                  events: events, replies: ReplyTexts(directory: resourceDirectory + "/templates/replies"),
                                  pool: pool, logger: logger)
    }

    /// The background work: the dispatcher and outgoing-event delivery.
    public func workers() -> [any Service] {
        [
            Dispatcher(store: messageStore, providers: providerStore, directory: providers.directory,
                       client: providerClient,
                       callbacks: callbacks, events: events, configuration: dispatcherConfiguration,
                       logger: logger.with("component", "dispatcher")),
            EventDeliveryService(events: events, http: http, logger: logger.with("component", "events")),
        ]
    }

    /// Stops the HTTP client; call after the workers have stopped.
    public func shutdown() async {
        await http.shutdown()
    }
}

extension Logger {
    func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy[metadataKey: key] = "\(value)"
        return copy
    }
}
