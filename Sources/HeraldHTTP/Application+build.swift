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
    public var templates: TemplateService
    /// The folder holding `web/` and `openapi.yaml`.
    public var resourceDirectory: String
    public var logger: Logger

    /// `templates` defaults to a service over `pool`.
    public init(
        configuration: HeraldConfiguration, pool: PostgresPool, identity: IdentityService, templates: TemplateService? = nil,
        resourceDirectory: String, logger: Logger
    ) {
        self.configuration = configuration
        self.pool = pool
        self.identity = identity
        self.templates = templates ?? TemplateService(store: TemplateStore(pool: pool), logger: logger)
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
    let registry = PrometheusCollectorRegistry()
    let webDirectory = dependencies.resourceDirectory + "/web"
    let openAPIPath = dependencies.resourceDirectory + "/openapi.yaml"
    guard let openAPI = FileManager.default.contents(atPath: openAPIPath) else {
        throw ConfigurationError("openapi.yaml not found at \(openAPIPath)")
    }

    // Hummingbird wraps each route in the middleware added before it, so middleware first.
    let routes = RouteTable()
    router.middlewares.add(ObservabilityMiddleware(metrics: HTTPMetrics(registry: registry)))
    router.middlewares.add(ErrorMiddleware(routes: routes))
    router.middlewares.add(SecurityHeadersMiddleware())
    router.middlewares.add(StaticFilesMiddleware(directory: webDirectory, logger: dependencies.logger))
    router.middlewares.add(AuthenticationMiddleware(identity: dependencies.identity))

    let registrar = RouteRegistrar(router: router, table: routes)
    HealthRoutes(pool: dependencies.pool, registry: registry, openAPIDocument: ByteBuffer(bytes: openAPI))
        .register(on: registrar)
    IdentityRoutes(identity: dependencies.identity, secureCookies: dependencies.configuration.resolvedPublicURL.hasPrefix("https://"))
        .register(on: registrar)
    TemplateRoutes(templates: dependencies.templates).register(on: registrar)
    return router
}
