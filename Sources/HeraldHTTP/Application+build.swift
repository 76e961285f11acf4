import Foundation
import Herald
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// What the HTTP layer adds to the application: where `/metrics` reads from and who may
/// read it.
public struct HTTPOptions: Sendable {
    /// The CLI passes the registry it bootstrapped swift-metrics with, so the dispatcher's
    /// counters show too; tests get a private one.
    public var metricsRegistry = PrometheusCollectorRegistry()
    /// When set (`HERALD_METRICS_TOKEN`), `/metrics` demands `Authorization: Bearer <token>`.
    public var metricsToken: String?
    public init() {}
}

/// Assembles Herald's HTTP application over `core`: the one function the CLI and the tests
/// call. `services` run before the server (the CLI passes the core's lifecycle services and
/// its workers); a graceful shutdown stops the server first, then them in reverse order.
public func buildApplication(
    _ core: HeraldCore,
    options: HTTPOptions = HTTPOptions(),
    services: [any Service] = [],
    logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = try buildRouter(core, options: options, logger: logger)
    let configuration = core.configuration
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [CloseAfterResponseHandler()])),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Herald"),
        services: services,
        onServerRunning: onServerRunning,
        logger: logger
    )
}

/// The router with every route and middleware, for `buildApplication` and router-level tests.
public func buildRouter(_ core: HeraldCore, options: HTTPOptions = HTTPOptions(), logger: Logger) throws -> Router<HeraldRequestContext> {
    let router = Router(context: HeraldRequestContext.self)
    let webDirectory = core.resourceDirectory + "/web"
    let openAPIPath = core.resourceDirectory + "/openapi.yaml"
    guard let openAPI = FileManager.default.contents(atPath: openAPIPath) else {
        throw ConfigurationError("openapi.yaml not found at \(openAPIPath)")
    }
    let publicURL = core.callbacks.publicURL

    // Hummingbird wraps each route in the middleware added before it, so middleware first.
    // Security headers sit outside the error mapping, so error responses carry them too.
    let routes = RouteTable()
    router.middlewares.add(ObservabilityMiddleware(metrics: HTTPMetrics(registry: options.metricsRegistry)))
    router.middlewares.add(SecurityHeadersMiddleware(strictTransportSecurity: SessionCookie(publicURL: publicURL).secure))
    router.middlewares.add(ErrorMiddleware(routes: routes))
    let sessionCookie = SessionCookie(publicURL: publicURL)
    router.middlewares.add(StaticFilesMiddleware(directory: webDirectory, logger: logger))
    router.middlewares.add(AuthenticationMiddleware(identity: core.identity, cookie: sessionCookie))

    let registrar = RouteRegistrar(router: router, table: routes)
    let auditor = Auditor(audit: core.audit, trustedProxies: core.configuration.trustedProxies)
    HealthRoutes(health: core.health, registry: options.metricsRegistry, metricsToken: options.metricsToken,
                 openAPIDocument: ByteBuffer(bytes: openAPI))
        .register(on: registrar)
    IdentityRoutes(identity: core.identity, cookie: sessionCookie, trustedProxies: core.configuration.trustedProxies, auditor: auditor)
        .register(on: registrar)
    UserRoutes(identity: core.identity, auditor: auditor).register(on: registrar)
    MessageRoutes(messages: core.messages).register(on: registrar)
    VerificationRoutes(verifications: core.verifications, auditor: auditor).register(on: registrar)
    OutboxRoutes(messages: core.messages).register(on: registrar)
    ProviderRoutes(providers: core.providers, callbacks: core.callbacks, auditor: auditor).register(on: registrar)
    WebhookRoutes(webhooks: core.webhooks, publicURL: publicURL).register(on: registrar)
    SettingsRoutes(settings: core.settings, eventsSigningSecret: core.eventsSigningSecret,
                   verifyServices: Dictionary(uniqueKeysWithValues: core.verifications.serviceSIDs.map { ($0.key.rawValue, $0.value) }),
                   auditor: auditor)
        .register(on: registrar)
    TwilioVerifyRoutes(verifications: core.verifications, identity: core.identity, publicURL: publicURL).register(on: registrar)
    TemplateRoutes(templates: core.templates, contacts: core.contacts, settings: core.settings, auditor: auditor).register(on: registrar)
    ContactRoutes(contacts: core.contacts, auditor: auditor).register(on: registrar)
    ImportRoutes(imports: core.imports, auditor: auditor).register(on: registrar)
    SegmentRoutes(segments: core.segments, auditor: auditor).register(on: registrar)
    CampaignRoutes(campaigns: core.campaigns, auditor: auditor).register(on: registrar)
    AuditRoutes(audit: core.audit).register(on: registrar)
    StatisticsRoutes(statistics: core.statistics).register(on: registrar)
    return router
}
