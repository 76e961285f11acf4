import Crypto
import Foundation
import Logging
import Postgres

/// The private PostgreSQL that `herald serve` runs when `DATABASE_URL` is unset (DESIGN.md,
/// "Embedded default").
///
/// The cluster lives in `$HERALD_DATA_DIR/postgres` and listens only on a Unix socket inside
/// it. As root the cluster must belong to the `postgres` system user, who must be able to
/// reach it: a checkout under `/root` (mode 700) is not reachable, so the cluster moves to
/// `/var/lib/herald/<hash of the data directory>/postgres` and Herald says so. The choice is
/// recorded in `$HERALD_DATA_DIR/postgres-location` so every later start finds the same data.
public struct EmbeddedDatabase: Sendable {
    public static let databaseName = "herald"

    public let dataDirectory: String
    public let clusterDirectory: String
    public let server: PostgresLocalServer
    let logger: Logger

    public init(dataDirectory: String, logger: Logger) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        self.dataDirectory = dataDirectory
        self.logger = logger
        let locationFile = dataDirectory + "/postgres-location"
        if let recorded = try? String(contentsOfFile: locationFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !recorded.isEmpty
        {
            clusterDirectory = recorded
        } else {
            let preferred = dataDirectory + "/postgres"
            if Self.isUsable(preferred) {
                clusterDirectory = preferred
            } else {
                let digest = SHA256.hash(data: Array(dataDirectory.utf8)).prefix(8)
                    .map { String(format: "%02x", $0) }.joined()
                clusterDirectory = "/var/lib/herald/\(digest)/postgres"
                try fm.createDirectory(atPath: "/var/lib/herald/\(digest)", withIntermediateDirectories: true)
                logger.notice(
                    "the data directory is not reachable by the postgres user; the embedded cluster lives elsewhere",
                    metadata: ["postgres.directory": "\(clusterDirectory)"])
            }
            try clusterDirectory.write(toFile: locationFile, atomically: true, encoding: .utf8)
        }
        server = PostgresLocalServer(dataDirectory: clusterDirectory, logger: logger)
    }

    /// Whether a cluster can live at `path`: as root, `postgres` must traverse every parent,
    /// and the socket path must fit in `sun_path` (107 bytes).
    static func isUsable(_ path: String) -> Bool {
        guard (path + "/.s.PGSQL.5432").utf8.count < 100 else { return false }
        guard getuid() == 0 else { return true }
        let parent = (path as NSString).deletingLastPathComponent
        return PostgresLocalServer.isTraversable(byUser: "postgres", path: parent)
    }

    /// Initialises the cluster on first use, starts it (or adopts one left running by a
    /// killed Herald), creates the `herald` database, and returns how to reach it.
    public func start() async throws -> PostgresConfiguration {
        try await server.initializeIfNeeded()
        try await server.start()
        let admin = try await PostgresConnection.connect(server.configuration(database: "postgres"), logger: logger)
        do {
            let exists = try await admin.query("SELECT 1 FROM pg_database WHERE datname = \(Self.databaseName)")
            if exists.isEmpty {
                do {
                    // A constant identifier, never user input.
                    try await admin.executeScript(unsafeSQL: "CREATE DATABASE \(Self.databaseName)")
                } catch let error as PostgresError where error.sqlState == .duplicateDatabase {
                    // Another process created it between our check and our CREATE.
                }
            }
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        return server.configuration(database: Self.databaseName)
    }

    public func isRunning() async -> Bool { await server.isRunning() }

    public func stop() async {
        do {
            try await server.stop()
        } catch {
            logger.warning("stopping the embedded PostgreSQL failed", metadata: ["error": "\(error)"])
        }
    }
}
