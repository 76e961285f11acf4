import Foundation
@testable import Herald
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

/// One test's Herald: its own database cloned from the migrated template, built by the
/// same composition root as `herald serve`.
struct TestHerald {
    static let template = "herald_migrated"

    let cluster: TestCluster
    let database: PostgresConfiguration
    /// The application's own pool (through `@testable`), for tests that arrange rows directly.
    var pool: PostgresPool { core.database.pool }
    let core: HeraldCore
    /// The clock every deadline of this Herald reads; tests move it instead of sleeping.
    let clock: AdjustableClock
    var identity: IdentityService { core.identity }
    var templates: TemplateService { core.templates }

    /// Runs `body` with a fresh Herald and drops its database afterwards.
    static func with<T>(
        limits: IdentityService.Limits = .init(), publicURL: String = "http://127.0.0.1:8080",
        dispatcher: DispatcherConfiguration = .init(), configure: (inout HeraldConfiguration) throws -> Void = { _ in },
        _ body: (TestHerald) async throws -> T
    ) async throws -> T {
        let cluster = try await TestCluster.shared()
        try await cluster.ensureTemplate(template) { connection in
            try await Migrator(directory: repositoryRoot + "/migrations", logger: testLogger).migrate(connection)
        }
        let database = try await cluster.createDatabase(template: template)
        // Scripted providers and event receivers listen on loopback.
        var configuration = HeraldConfiguration(port: 0, databasePoolSize: 4, allowPrivateNetworks: true)
        configuration.publicURL = publicURL
        try configure(&configuration)
        let clock = AdjustableClock()
        var options = HeraldCore.Options()
        options.identityLimits = limits
        options.passwordCost = 4
        options.dispatcher = dispatcher
        options.clock = clock
        options.eventPoll = .milliseconds(20)
        let core = try HeraldCore(configuration: configuration, database: database, secret: ServerSecret(testSecret),
                              resourceDirectory: repositoryRoot, options: options, logger: testLogger)
        let herald = TestHerald(cluster: cluster, database: database, core: core, clock: clock)
        do {
            let result = try await body(herald)
            await herald.close()
            return result
        } catch {
            await herald.close()
            throw error
        }
    }

    private func close() async {
        await core.close()
        await cluster.dropDatabase(database)
    }

    /// Runs `body` against the application's router (no sockets).
    func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        let app = try buildApplication(core, logger: testLogger)
        return try await app.test(.router, body)
    }

    /// A new API key with `scopes`, as a bearer header (with the JSON content type the
    /// API demands of bodies).
    func bearer(_ scopes: [String] = ["admin"]) async throws -> HTTPFields {
        let key = try await identity.createAPIKey(name: "test", scopes: scopes, createdBy: nil)
        return [.authorization: "Bearer \(key.secret)", .contentType: "application/json"]
    }
}

let testSecret = "test-secret-of-sufficient-length"

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

/// Tests that keep both cores of a small machine busy for many seconds (a 10,000-recipient
/// campaign, 200 parallel logins through a 4-connection pool) take turns instead of starving
/// each other's pool waits: `try await heavy { … }`.
enum HeavyTests {
    static let gate = AsyncGate()
}

func heavy<T>(_ body: () async throws -> T) async throws -> T {
    await HeavyTests.gate.acquire()
    do {
        let result = try await body()
        await HeavyTests.gate.release()
        return result
    } catch {
        await HeavyTests.gate.release()
        throw error
    }
}
