import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import PostgresTestSupport

/// The checkout's root, where `migrations/`, `web/` and `openapi.yaml` live.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

let testLogger: Logger = {
    var logger = Logger(label: "herald.tests")
    logger.logLevel = .critical
    return logger
}()

/// One test's Herald: its own database cloned from the migrated template, a pool, the
/// services and the HTTP dependencies.
struct TestHerald {
    static let template = "herald_migrated"

    let cluster: TestCluster
    let database: PostgresConfiguration
    let pool: PostgresPool
    let identity: IdentityService
    let dependencies: HeraldHTTPDependencies
    var engine: MessagingEngine { dependencies.engine }
    var templates: TemplateService { dependencies.engine.templates }

    /// Runs `body` with a fresh Herald and drops its database afterwards.
    static func with<T>(
        limits: IdentityService.Limits = .init(), publicURL: String = "http://127.0.0.1:8080",
        dispatcher: DispatcherConfiguration = .init(), _ body: (TestHerald) async throws -> T
    ) async throws -> T {
        let cluster = try await TestCluster.shared()
        try await cluster.ensureTemplate(template) { connection in
            try await Migrator(directory: repositoryRoot + "/migrations", logger: testLogger).migrate(connection)
        }
        let database = try await cluster.createDatabase(template: template)
        let pool = PostgresPool(configuration: database, maxConnections: 4, logger: testLogger)
        let identity = IdentityService(
            store: IdentityStore(pool: pool), hasher: PasswordHasher(cost: 4), limits: limits, logger: testLogger)
        // Scripted providers and event receivers listen on loopback.
        var configuration = HeraldConfiguration(port: 0, allowPrivateNetworks: true)
        configuration.publicURL = publicURL
        let secret = ServerSecret("test-secret-of-sufficient-length")
        let engine = MessagingEngine(configuration: configuration, pool: pool, secret: secret, resourceDirectory: repositoryRoot,
                                     dispatcher: dispatcher, logger: testLogger)
        let herald = TestHerald(
            cluster: cluster, database: database, pool: pool, identity: identity,
            dependencies: HeraldHTTPDependencies(
                configuration: configuration, pool: pool, identity: identity, engine: engine,
                eventsSigningSecret: SettingsService.eventsSigningSecret(secret), resourceDirectory: repositoryRoot, logger: testLogger))
        do {
            let result = try await body(herald)
            await engine.shutdown()
            await pool.close()
            await cluster.dropDatabase(database)
            return result
        } catch {
            await engine.shutdown()
            await pool.close()
            await cluster.dropDatabase(database)
            throw error
        }
    }

    /// Runs `body` against the application's router (no sockets).
    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = try buildApplication(dependencies)
        return try await app.test(.router, body)
    }

    /// A new API key with `scopes`, as a bearer header.
    func bearer(_ scopes: [String] = ["admin"]) async throws -> HTTPFields {
        let key = try await identity.createAPIKey(name: "test", scopes: scopes, createdBy: nil)
        return [.authorization: "Bearer \(key.secret)"]
    }
}

extension TestResponse {
    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    /// `error.code` of an error body.
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var errorField: String? { (json["error"] as? [String: Any])?["field"] as? String }
    var text: String { String(buffer: body) }
}

/// A JSON body from a literal.
func jsonBody(_ object: Any) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var merged = lhs
        for field in rhs { merged[field.name] = field.value }
        return merged
    }
}
