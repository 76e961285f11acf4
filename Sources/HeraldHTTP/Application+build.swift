import Foundation
import Herald
import Hummingbird
import Logging
import NIOCore
import Postgres
import Prometheus
import ServiceLifecycle

/// Everything the HTTP layer needs, built once by the CLI (or a test) and handed in.
public struct HeraldHTTPDependencies: Sendable {
    public var configuration: HeraldConfiguration
    public var pool: PostgresPool
    public var identity: IdentityService
    /// Messages, providers, webhooks, settings.
    public var engine: MessagingEngine
    /// The key apps verify outgoing events with (shown in `GET /v1/settings`).
    public var eventsSigningSecret: String
    /// The folder holding `web/` and `openapi.yaml`.
    public var resourceDirectory: String
    public var logger: Logger
    /// Where `/metrics` reads from. The CLI passes the registry it bootstrapped swift-metrics
    /// with, so the dispatcher's counters show too; tests get a private one.
    public var metricsRegistry = PrometheusCollectorRegistry()

    public init(configuration: HeraldConfiguration, pool: PostgresPool, identity: IdentityService, engine: MessagingEngine,
                eventsSigningSecret: String, resourceDirectory: String, logger: Logger) {
        self.configuration = configuration
        self.pool = pool
        self.identity = identity
        self.engine = engine
        self.eventsSigningSecret = eventsSigningSecret
        self.resourceDirectory = resourceDirectory
        self.logger = logger
    }
}

/// Assembles Herald's HTTP application: the one function the CLI and the tests call.
public func buildApplication(
    _ dependencies: HeraldHTTPDependencies,
    services: [any Service] = [],
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = try buildRouter(dependencies)
    let configuration = dependencies.configuration
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Herald"),
        services: services,
        onServerRunning: onServerRunning,
        logger: dependencies.logger
    )
}

/// The router with every route and middleware, for `buildApplication` and router-level tests.
public func buildRouter(_ dependencies: HeraldHTTPDependencies) throws -> Router<HeraldRequestContext> {
    let router = Router(context: HeraldRequestContext.self)
    let registry = dependencies.metricsRegistry
    let webDirectory = dependencies.resourceDirectory + "/web"
    let openAPIPath = dependencies.resourceDirectory + "/openapi.yaml"
    guard let openAPI = FileManager.default.contents(atPath: openAPIPath) else {
        throw ConfigurationError("openapi.yaml not found at \(openAPIPath)")
    }

    // Hummingbird wraps each route in the middleware added before it, so middleware first.
    let routes = RouteTable()
    router.middlewares.add(ObservabilityMiddleware(metrics: HTTPMetrics(registry: registry)))
    router.middlewares.add(ErrorMiddleware(routes: routes))
    let sessionCookie = SessionCookie(publicURL: dependencies.configuration.resolvedPublicURL)
    router.middlewares.add(SecurityHeadersMiddleware(strictTransportSecurity: sessionCookie.secure))
    router.middlewares.add(StaticFilesMiddleware(directory: webDirectory, logger: dependencies.logger))
    router.middlewares.add(AuthenticationMiddleware(identity: dependencies.identity, cookie: sessionCookie))

    let registrar = RouteRegistrar(router: router, table: routes)
    HealthRoutes(pool: dependencies.pool, registry: registry, openAPIDocument: ByteBuffer(bytes: openAPI))
        .register(on: registrar)
    IdentityRoutes(identity: dependencies.identity, cookie: sessionCookie, trustedProxies: dependencies.configuration.trustedProxies)
        .register(on: registrar)
    UserRoutes(identity: dependencies.identity).register(on: registrar)
    let engine = dependencies.engine
    MessageRoutes(messages: engine.messages).register(on: registrar)
    ProviderRoutes(providers: engine.providers, callbacks: engine.callbacks).register(on: registrar)
    WebhookRoutes(webhooks: engine.webhooks, publicURL: engine.callbacks.publicURL).register(on: registrar)
    OutboxRoutes(pool: dependencies.pool).register(on: registrar)
    SettingsRoutes(settings: engine.settings, eventsSigningSecret: dependencies.eventsSigningSecret).register(on: registrar)
    TemplateRoutes(templates: engine.templates).register(on: registrar)
    return router
}
