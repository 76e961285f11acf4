import ArgumentParser
import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import Logging
import Metrics
import Prometheus
import Postgres
import ServiceLifecycle

@main
struct HeraldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Herald: a self-hosted SMS platform for verification codes and campaigns.",
        subcommands: [Serve.self, Worker.self, Migrate.self, Users.self, APIKeys.self, ProviderSimCommand.self]
    )
}

/// Shared start-up: configuration from the environment, logging, the database.
struct CommandEnvironment {
    var configuration: HeraldConfiguration
    let logger: Logger

    init(applying overrides: (inout HeraldConfiguration) -> Void = { _ in }) throws {
        var configuration = try HeraldConfiguration.fromEnvironment()
        overrides(&configuration)
        self.configuration = configuration
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger = Logger(label: "herald")
    }

    /// Opens the database (starting the embedded one if needed) and runs `body` with a pool.
    /// Commands other than `serve` stop an embedded server they had to start.
    func withDatabase<T: Sendable>(
        migrate: Bool = true, _ body: (DatabaseRuntime, PostgresPool) async throws -> T
    ) async throws -> T {
        let database = try await DatabaseRuntime.open(configuration, logger: logger)
        let pool = PostgresPool(
            configuration: database.configuration, maxConnections: configuration.databasePoolSize, logger: logger)
        do {
            if migrate {
                let resources = try ResourceLocator.locate(explicit: configuration.resourceDirectory)
                try await Migrator(directory: resources + "/migrations", logger: logger).migrate(pool)
            }
            let result = try await body(database, pool)
            await pool.close()
            await database.close()
            return result
        } catch {
            await pool.close()
            await database.close()
            throw error
        }
    }
}

/// Prints one line to standard output (user-facing results; logs go to standard error).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP API, the dashboard and the background workers.")

    @Option(help: "Address to listen on (HERALD_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (HERALD_PORT, default 8080).") var port: Int?
    @Flag(help: "Do not run dispatchers or the scheduler in this process.") var noWorker = false

    func run() async throws {
        let environment = try CommandEnvironment {
            if let host { $0.host = host }
            if let port { $0.port = port }
        }
        let configuration = environment.configuration
        let logger = environment.logger
        guard (0...65535).contains(configuration.port) else { throw ValidationError("--port must be 0–65535") }
        let resources = try ResourceLocator.locate(explicit: configuration.resourceDirectory)
        // Generated on first start in embedded mode; a missing one with DATABASE_URL stops here.
        let secret = try ServerSecret.load(configuration: configuration)
        // Embedded mode: one server per data directory, checked before the database is touched.
        let dataLock = configuration.databaseURL == nil
            ? try DataDirectoryLock.acquire(dataDirectory: configuration.absoluteDataDirectory) : nil
        defer { withExtendedLifetime(dataLock) {} }

        let database = try await DatabaseRuntime.open(configuration, logger: logger)
        let pool = PostgresPool(
            configuration: database.configuration, maxConnections: configuration.databasePoolSize, logger: logger)
        do {
            try await Migrator(directory: resources + "/migrations", logger: logger).migrate(pool)
            let identity = IdentityService(store: IdentityStore(pool: pool), logger: logger)
            let firstLogin = try await FirstLogin.ensure(identity: identity, dataDirectory: configuration.absoluteDataDirectory)
            let engine = MessagingEngine(
                configuration: configuration, pool: pool, secret: secret, resourceDirectory: resources,
                dispatcher: try DispatcherConfiguration.fromEnvironment(), logger: logger)
            let dependencies = HeraldHTTPDependencies(
                configuration: configuration, pool: pool, identity: identity, engine: engine,
                eventsSigningSecret: SettingsService.eventsSigningSecret(secret), resourceDirectory: resources, logger: logger)
            let app = try buildApplication(
                withMetrics(dependencies),
                services: [HousekeepingService(identity: identity, logger: logger)] + (noWorker ? [] : engine.workers()),
                onServerRunning: { channel in
                    var url = configuration.resolvedPublicURL
                    if configuration.port == 0, let port = channel.localAddress?.port {
                        url = "http://\(configuration.host):\(port)"
                    }
                    say("Herald is running: \(url)/")
                    if let firstLogin {
                        say("First login: \(firstLogin.email) / \(firstLogin.password)")
                    }
                    if let embedded = database.embedded {
                        say("Database: embedded PostgreSQL in \(embedded.clusterDirectory)")
                    }
                })
            do {
                try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
            } catch {
                await engine.shutdown()
                throw error
            }
            await engine.shutdown()
        } catch {
            await pool.close()
            await database.close(force: true)
            throw error
        }
        await pool.close()
        await database.close(force: true)
    }
}

/// Routes swift-metrics (the dispatcher's counters) into the registry `/metrics` serves.
func withMetrics(_ dependencies: HeraldHTTPDependencies) -> HeraldHTTPDependencies {
    var dependencies = dependencies
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    dependencies.metricsRegistry = registry
    return dependencies
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run only the background workers (dispatcher, event delivery), no HTTP. Run as many as you like on one database.")

    func run() async throws {
        let environment = try CommandEnvironment()
        let configuration = environment.configuration
        let logger = environment.logger
        let resources = try ResourceLocator.locate(explicit: configuration.resourceDirectory)
        let secret = try ServerSecret.load(configuration: configuration)
        let dispatcher = try DispatcherConfiguration.fromEnvironment()
        try await environment.withDatabase { _, pool in
            let engine = MessagingEngine(
                configuration: configuration, pool: pool, secret: secret, resourceDirectory: resources,
                dispatcher: dispatcher, logger: logger)
            let group = ServiceGroup(configuration: .init(
                services: engine.workers().map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            say("Herald worker is running (dispatcher window \(dispatcher.window)).")
            do {
                try await group.run()
            } catch {
                await engine.shutdown()
                throw error
            }
            await engine.shutdown()
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let environment = try CommandEnvironment()
        let resources = try ResourceLocator.locate(explicit: environment.configuration.resourceDirectory)
        let migrator = try Migrator(directory: resources + "/migrations", logger: environment.logger)
        let applied = try await environment.withDatabase(migrate: false) { _, pool in try await migrator.migrate(pool) }
        say(applied.isEmpty ? "Database is up to date." : "Applied migrations: \(applied.map(String.init).joined(separator: ", ")).")
    }
}

extension HeraldError: LocalizedError {
    public var errorDescription: String? { description }
}
