import Foundation
import Logging
import Postgres

/// The database a Herald process uses: `DATABASE_URL`, or the embedded cluster.
public struct DatabaseRuntime: Sendable {
    public let configuration: PostgresConfiguration
    /// The embedded cluster, when there is no `DATABASE_URL`.
    public let embedded: EmbeddedDatabase?
    /// Whether this process started the embedded server (and so should stop it).
    public let startedEmbedded: Bool

    /// Resolves the database and, in embedded mode, makes sure the cluster runs.
    public static func open(_ configuration: HeraldConfiguration, logger: Logger) async throws -> DatabaseRuntime {
        if let url = configuration.databaseURL {
            return DatabaseRuntime(configuration: PostgresConfiguration(conninfo: url), embedded: nil, startedEmbedded: false)
        }
        let embedded = try EmbeddedDatabase(dataDirectory: configuration.absoluteDataDirectory, logger: logger)
        let wasRunning = await embedded.isRunning()
        let postgres = try await embedded.start()
        return DatabaseRuntime(configuration: postgres, embedded: embedded, startedEmbedded: !wasRunning)
    }

    /// Stops the embedded server if this process started it (or always, for `serve`).
    public func close(force: Bool = false) async {
        guard let embedded, startedEmbedded || force else { return }
        await embedded.stop()
    }
}
