import ArgumentParser
import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

@main
struct HeraldCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Herald: a self-hosted SMS platform for verification codes and campaigns.",
        subcommands: [Serve.self, Worker.self, Migrate.self, Users.self, APIKeys.self, Contacts.self, ProviderSimCommand.self]
    )
}

/// Shared start-up: configuration from the environment, logging, the application.
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

    /// Builds Herald on the configured database (starting the embedded one if needed), runs
    /// `body`, then closes it: one-shot commands stop an embedded server only if they started it.
    func withHerald<T: Sendable>(migrate: Bool = true, _ body: (HeraldCore) async throws -> T) async throws -> T {
        let core = try await HeraldCore.open(configuration: configuration, migrate: migrate, logger: logger)
        do {
            let result = try await body(core)
            await core.close()
            return result
        } catch {
            await core.close()
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
        // Embedded mode: one server per data directory, checked before the database is touched.
        let dataLock = configuration.databaseURL == nil
            ? try DataDirectoryLock.acquire(dataDirectory: configuration.absoluteDataDirectory) : nil
        defer { withExtendedLifetime(dataLock) {} }

        var options = HeraldCore.Options()
        options.dispatcher = try DispatcherConfiguration.fromEnvironment()
        // Before the core: swift-metrics hands out its counters when the dispatcher is built,
        // and a counter made before the bootstrap counts into nothing.
        let metricsRegistry = bootstrapMetrics()
        let core = try await HeraldCore.open(configuration: configuration, options: options, ownsEmbeddedDatabase: true, logger: logger)
        let app: any ApplicationProtocol
        do {
            let firstLogin = try await FirstLogin.ensure(identity: core.identity, dataDirectory: configuration.absoluteDataDirectory)
            var http = HTTPOptions()
            http.metricsRegistry = metricsRegistry
            http.metricsToken = configuration.metricsToken
            app = try buildApplication(
                core, options: http,
                services: core.lifecycle + (noWorker ? [core.workers.housekeeping] : core.workers.all),
                logger: logger,
                onServerRunning: { channel in
                    var url = configuration.resolvedPublicURL
                    if configuration.port == 0, let port = channel.localAddress?.port {
                        url = "http://\(configuration.host):\(port)"
                    }
                    say("Herald is running: \(url)/")
                    if let firstLogin {
                        say("First login: \(firstLogin.email) / \(firstLogin.password)")
                    }
                    if let embedded = core.embeddedDirectory {
                        say("Database: embedded PostgreSQL in \(embedded)")
                    }
                })
        } catch {
            await core.close()
            throw error
        }
        // The lifecycle services close the HTTP client, the pool and the embedded database on
        // the way out; close() covers a run that failed before they started (and is then a no-op).
        do {
            try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        } catch {
            await core.close()
            throw error
        }
        await core.close()
    }
}

/// Routes swift-metrics (the dispatcher's counters) into the registry `/metrics` serves.
func bootstrapMetrics() -> PrometheusCollectorRegistry {
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    return registry
}

struct Worker: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run only the background workers (dispatcher, event delivery), no HTTP. Run as many as you like on one database.")

    func run() async throws {
        let environment = try CommandEnvironment()
        var options = HeraldCore.Options()
        options.dispatcher = try DispatcherConfiguration.fromEnvironment()
        let core = try await HeraldCore.open(configuration: environment.configuration, options: options, logger: environment.logger)
        let group = ServiceGroup(configuration: .init(
            services: (core.lifecycle + core.workers.all).map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: environment.logger))
        say("Herald worker is running (dispatcher window \(options.dispatcher.window)).")
        do {
            try await group.run()
        } catch {
            await core.close()
            throw error
        }
        await core.close()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let environment = try CommandEnvironment()
        let applied = try await environment.withHerald(migrate: false) { core in try await core.migrate(logger: environment.logger) }
        say(applied.isEmpty ? "Database is up to date." : "Applied migrations: \(applied.map(String.init).joined(separator: ", ")).")
    }
}

extension HeraldError: LocalizedError {
    public var errorDescription: String? { description }
}
