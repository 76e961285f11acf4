import Foundation
import Logging
import Postgres
import PostgresTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

private func postmasterPID(_ server: PostgresLocalServer) -> pid_t? {
    guard let contents = try? String(contentsOfFile: server.dataDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
    return contents.split(separator: "\n").first.flatMap { pid_t($0) }
}

private func selectOne(_ server: PostgresLocalServer) async throws -> Int {
    let connection = try await PostgresConnection.connect(server.configuration(), logger: quietLogger)
    defer { Task { await connection.close() } }
    return try await connection.query("SELECT 1 AS one")[0].decode("one", as: Int.self)
}

@Suite("A local PostgreSQL server")
struct LocalServerTests {
    @Test("initialize twice is a no-op, start reuses a running server, and a stale postmaster.pid after SIGKILL is handled")
    func lifecycle() async throws {
        let root = try TestCluster.makeScratchDirectory()
        let server = PostgresLocalServer(
            dataDirectory: root + "/data", socketDirectory: root, port: 5433,
            settings: ["fsync": "off"], logger: quietLogger
        )
        #expect(await server.isRunning() == false)
        try await server.initializeIfNeeded()
        let version = try FileManager.default.attributesOfItem(atPath: server.dataDirectory + "/PG_VERSION")[.modificationDate] as? Date
        let started = ContinuousClock.now
        try await server.initializeIfNeeded()
        #expect(started.duration(to: .now) < .seconds(5), "no second initdb (the PG_VERSION check below proves it)")
        #expect(try FileManager.default.attributesOfItem(atPath: server.dataDirectory + "/PG_VERSION")[.modificationDate] as? Date == version)

        try await server.start()
        #expect(await server.isRunning())
        let firstPID = try #require(postmasterPID(server))
        #expect(try await selectOne(server) == 1)

        // A second start (say, by a restarted Herald) reuses the running server.
        try await server.start()
        #expect(postmasterPID(server) == firstPID)

        // The postmaster dies hard: postmaster.pid stays behind, naming a dead process.
        kill(firstPID, SIGKILL)
        #expect(try await eventually { kill(firstPID, 0) != 0 })
        #expect(FileManager.default.fileExists(atPath: server.dataDirectory + "/postmaster.pid"))
        #expect(await server.isRunning() == false)
        try await server.start()
        let secondPID = try #require(postmasterPID(server))
        #expect(secondPID != firstPID)
        #expect(try await selectOne(server) == 1)

        try await server.stop()
        #expect(await server.isRunning() == false)
        try await server.stop()  // stopping a stopped server is fine
    }

    @Test("a missing bin directory gives one clear sentence about what to install")
    func notInstalled() async throws {
        await #expect(throws: PostgresLocalServerError.notInstalled) {
            _ = try await PostgresLocalServer.locateBinDirectory(environment: ["HERALD_PG_BINDIR": "/nonexistent/bin"])
        }
        await #expect(throws: PostgresLocalServerError.notInstalled) {
            _ = try await PostgresLocalServer.locateBinDirectory(environment: ["PATH": "/nonexistent"], searchRoots: ["/nonexistent"])
        }
        let root = try TestCluster.makeScratchDirectory()
        let server = PostgresLocalServer(dataDirectory: root + "/data", binDirectory: "/nonexistent/bin", logger: quietLogger)
        await #expect(throws: PostgresLocalServerError.notInstalled) { try await server.initializeIfNeeded() }

        let sentence = PostgresLocalServerError.notInstalled.description
        #expect(sentence.contains("apt-get install postgresql"))
        #expect(sentence.hasSuffix("."))
        #expect(sentence.dropLast().contains(". ") == false)
        #expect(sentence.contains("\n") == false)
    }

    @Test("the bin directory is found from HERALD_PG_BINDIR, pg_config, or /usr/lib/postgresql")
    func locatesBinaries() async throws {
        let found = try await PostgresLocalServer.locateBinDirectory()
        #expect(FileManager.default.isExecutableFile(atPath: found + "/initdb"))
        #expect(try await PostgresLocalServer.locateBinDirectory(environment: ["HERALD_PG_BINDIR": found]) == found)
        let fromSearch = try await PostgresLocalServer.locateBinDirectory(environment: ["PATH": ""])
        #expect(FileManager.default.isExecutableFile(atPath: fromSearch + "/pg_ctl"))
    }

    @Test("a data directory below a directory postgres cannot enter is refused with a clear error",
          .enabled(if: geteuid() == 0 && getpwnam("postgres") != nil))
    func notTraversable() async throws {
        let root = try TestCluster.makeScratchDirectory()
        let locked = root + "/private"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        #expect(PostgresLocalServer.isTraversable(byUser: "postgres", path: locked + "/cluster") == false)
        #expect(PostgresLocalServer.isTraversable(byUser: "postgres", path: root))
        #expect(PostgresLocalServer.isTraversable(byUser: "root", path: locked))

        let server = PostgresLocalServer(dataDirectory: locked + "/cluster", logger: quietLogger)
        await #expect(throws: PostgresLocalServerError.notTraversable(path: locked, user: "postgres")) {
            try await server.initializeIfNeeded()
        }
        #expect(PostgresLocalServerError.notTraversable(path: locked, user: "postgres").description.contains(locked))

        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked)
        #expect(PostgresLocalServer.isTraversable(byUser: "postgres", path: locked + "/cluster"))
    }

    @Test("a wrong password fails with .connectionFailed and a description without secrets")
    func wrongPassword() async throws {
        let cluster = try await TestCluster.makePrivate()
        let server = try #require(cluster.localServer)
        let admin = try await PostgresConnection.connect(cluster.adminConfiguration, logger: quietLogger)
        try await admin.executeScript(unsafeSQL: "CREATE ROLE alice LOGIN PASSWORD 'correct horse'")
        // Require a password for alice over the socket, then reload.
        let hba = server.dataDirectory + "/pg_hba.conf"
        let original = try String(contentsOfFile: hba, encoding: .utf8)
        try ("local all alice scram-sha-256\n" + original).write(toFile: hba, atomically: false, encoding: .utf8)
        try await admin.query("SELECT pg_reload_conf()")

        func alice(_ password: String?) -> PostgresConfiguration {
            var pairs = "host='\(server.socketDirectory)' port='\(server.port)' user='alice' dbname='postgres'"
            if let password { pairs += " password='\(password)'" }
            return PostgresConfiguration(conninfo: pairs)
        }
        #expect(try await eventually {
            (try? await PostgresConnection.connect(alice(nil), logger: quietLogger)) == nil
        })
        let noPassword = await expectPostgresError { _ = try await PostgresConnection.connect(alice(nil), logger: quietLogger) }
        #expect(noPassword?.code == .connectionFailed)

        let wrong = await expectPostgresError { _ = try await PostgresConnection.connect(alice("battery staple"), logger: quietLogger) }
        #expect(wrong?.code == .connectionFailed)
        let description = wrong?.description ?? ""
        #expect(!description.contains("battery"))
        #expect(!description.contains("alice"))
        #expect(wrong.map { String(reflecting: $0) }?.contains("password authentication failed") == true)

        let right = try await PostgresConnection.connect(alice("correct horse"), logger: quietLogger)
        #expect(try await right.query("SELECT current_user AS u")[0].decode("u", as: String.self) == "alice")
        await right.close()
        await admin.close()
        try await cluster.stop()
    }
}
