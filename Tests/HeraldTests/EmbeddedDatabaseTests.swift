import Foundation
import Herald
import Postgres
import Testing

@Suite("Embedded PostgreSQL", .serialized)
struct EmbeddedDatabaseTests {
    /// A data directory under /tmp (reachable by the postgres user).
    func withDataDirectory(_ body: (String) async throws -> Void) async throws {
        let dir = "/tmp/herald-embedded-\(UUID().uuidString.prefix(8))"
        try await body(dir)
        let embedded = try? EmbeddedDatabase(dataDirectory: dir, logger: testLogger)
        await embedded?.stop()
        if let cluster = embedded?.clusterDirectory, !cluster.hasPrefix(dir) {
            try? FileManager.default.removeItem(atPath: (cluster as NSString).deletingLastPathComponent)
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    @Test("initialises once, keeps data across restarts, and adopts a server left running by a killed Herald")
    func lifecycle() async throws {
        try await withDataDirectory { dir in
            let embedded = try EmbeddedDatabase(dataDirectory: dir, logger: testLogger)
            #expect(embedded.clusterDirectory == dir + "/postgres")
            let configuration = try await embedded.start()
            let pool = PostgresPool(configuration: configuration, maxConnections: 2, logger: testLogger)
            try await pool.query("CREATE TABLE kept (note text)")
            try await pool.query("INSERT INTO kept VALUES (\("still here"))")
            await pool.close()

            // Listening only on the Unix socket in the cluster directory.
            #expect(FileManager.default.fileExists(atPath: embedded.clusterDirectory + "/.s.PGSQL.5432"))
            let settings = PostgresPool(configuration: configuration, maxConnections: 1, logger: testLogger)
            let listen = try await settings.query("SHOW listen_addresses")
            #expect(try listen[0].decode(0, as: String.self) == "")
            await settings.close()

            // A Herald killed with -9 leaves its postmaster running: the next start adopts it.
            let again = try EmbeddedDatabase(dataDirectory: dir, logger: testLogger)
            #expect(await again.isRunning())
            let adopted = try await again.start()
            let check = PostgresPool(configuration: adopted, maxConnections: 1, logger: testLogger)
            #expect(try await check.query("SELECT note FROM kept")[0].decode(0, as: String.self) == "still here")
            await check.close()

            // A clean stop and start keeps the data.
            await again.stop()
            #expect(await !again.isRunning())
            let restarted = try await EmbeddedDatabase(dataDirectory: dir, logger: testLogger).start()
            let after = PostgresPool(configuration: restarted, maxConnections: 1, logger: testLogger)
            #expect(try await after.query("SELECT count(*) FROM kept")[0].decode(0, as: Int.self) == 1)
            await after.close()
        }
    }

    @Test("a data directory the postgres user cannot reach moves the cluster and says where", .enabled(if: getuid() == 0))
    func unreachableDirectory() async throws {
        let parent = "/tmp/herald-private-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try await withDataDirectory { _ in
            let dir = parent + "/data"
            let embedded = try EmbeddedDatabase(dataDirectory: dir, logger: testLogger)
            #expect(embedded.clusterDirectory.hasPrefix("/var/lib/herald/"))
            #expect(try String(contentsOfFile: dir + "/postgres-location", encoding: .utf8) == embedded.clusterDirectory)
            // The same data directory finds the same cluster next time.
            #expect(try EmbeddedDatabase(dataDirectory: dir, logger: testLogger).clusterDirectory == embedded.clusterDirectory)
            _ = try await embedded.start()
            await embedded.stop()
            try? FileManager.default.removeItem(atPath: (embedded.clusterDirectory as NSString).deletingLastPathComponent)
        }
    }
}
