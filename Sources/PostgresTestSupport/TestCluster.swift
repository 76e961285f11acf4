import Foundation
import Logging
import Postgres

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A PostgreSQL server for tests, with a database per test.
///
/// ```swift
/// let cluster = try await TestCluster.shared()
/// try await cluster.ensureTemplate("herald") { try await Migrator.run(on: $0) }
/// let configuration = try await cluster.createDatabase(template: "herald")
/// defer { Task { await cluster.dropDatabase(configuration) } }
/// ```
///
/// With `DATABASE_URL` set, the shared cluster is that server. Otherwise one throwaway cluster is started per test
/// process in a fresh `/tmp/herald-test-XXXXXX` directory (owned by `postgres` when running as root, whatever
/// directory the repository was cloned into), listening only on a socket there, and stopped and deleted when the
/// process exits. Clusters left by crashed runs are swept at start-up.
public final class TestCluster: Sendable {
    /// Connects as a superuser to the maintenance database.
    public let adminConfiguration: PostgresConfiguration
    /// The server this harness started, `nil` for a `DATABASE_URL` server.
    public let localServer: PostgresLocalServer?
    private let registry = TemplateRegistry()
    private let adminPool: PostgresPool
    private let logger: Logger

    private init(adminConfiguration: PostgresConfiguration, localServer: PostgresLocalServer?, logger: Logger) {
        self.adminConfiguration = adminConfiguration
        self.localServer = localServer
        self.logger = logger
        self.adminPool = PostgresPool(configuration: adminConfiguration, maxConnections: 4, acquireTimeout: .seconds(30), logger: logger)
    }

    // MARK: - Clusters

    private static let sharedBoot = Task<TestCluster, any Error> {
        let logger = TestCluster.quietLogger
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["DATABASE_URL"], !url.isEmpty {
            let cluster = TestCluster(adminConfiguration: .fromEnvironment(environment), localServer: nil, logger: logger)
            // Someone else's server: drop what this process created (templates, databases a failed test left).
            TestClusterCleanup.installOnce()
            TestClusterCleanup.registerAtExit { await cluster.dropLeftovers() }
            return cluster
        }
        return try await makeLocal(logger: logger)
    }

    /// The process-wide cluster (started on first use).
    public static func shared() async throws -> TestCluster {
        try await sharedBoot.value
    }

    /// A brand-new cluster of its own, for destructive tests (restart, stop, pg_hba changes). The caller stops it;
    /// its directory is deleted at process exit.
    /// `durable` keeps PostgreSQL's defaults (fsync and synchronous commit on), for benchmarks
    /// that must measure what a user gets.
    public static func makePrivate(durable: Bool = false) async throws -> TestCluster {
        try await makeLocal(logger: quietLogger, durable: durable)
    }

    static let quietLogger = Logger(label: "herald.test.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func makeLocal(logger: Logger, durable: Bool = false) async throws -> TestCluster {
        let root = try makeScratchDirectory()
        let server = PostgresLocalServer(
            dataDirectory: root + "/data",
            socketDirectory: root,
            port: 5432,
            // Durability is pointless for throwaway data; this makes CREATE DATABASE and commits much faster.
            settings: durable
                ? ["max_connections": "200"]
                : ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"],
            logger: logger
        )
        try await server.start()
        return TestCluster(adminConfiguration: server.configuration(), localServer: server, logger: logger)
    }

    /// A fresh `/tmp/herald-test-XXXXXX` directory (owned by `postgres` when we are root), deleted at process exit
    /// — after stopping any postmaster whose data directory is its `data` subdirectory.
    public static func makeScratchDirectory() throws -> String {
        TestClusterCleanup.installOnce()
        let root = try makeOwnedDirectory()
        TestClusterCleanup.register(root: root, dataDirectory: root + "/data")
        return root
    }

    /// `/tmp/herald-test-XXXXXX`, with our PID recorded so a later run can sweep it if we die, owned by `postgres`
    /// when we are root.
    private static func makeOwnedDirectory() throws -> String {
        TestClusterCleanup.sweepAbandoned()
        var template = Array("/tmp/herald-test-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw TestClusterError("mkdtemp failed: errno \(errno)")
        }
        let root = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        try String(getpid()).write(toFile: root + "/owner.pid", atomically: false, encoding: .utf8)
        if geteuid() == 0, let entry = getpwnam(PostgresLocalServer.clusterUser) {
            guard chown(root, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
                throw TestClusterError("chown \(root) to postgres failed: errno \(errno)")
            }
        }
        return root
    }

    private func requireLocal() throws -> PostgresLocalServer {
        guard let localServer else { throw TestClusterError("this cluster is a DATABASE_URL server, not a private one") }
        return localServer
    }

    public func restart() async throws {
        let server = try requireLocal()
        try await server.stop(mode: .fast)
        try await server.start()
    }

    public func stop() async throws {
        try await requireLocal().stop(mode: .fast)
    }

    public func start() async throws {
        try await requireLocal().start()
    }

    // MARK: - Databases

    /// Creates the template database `name` once per process (concurrent callers wait for the first) and runs
    /// `setup` on it, e.g. migrations. The setup connection is closed before anything is cloned from it.
    public func ensureTemplate(_ name: String, setup: @Sendable (PostgresConnection) async throws -> Void) async throws {
        switch try await registry.claim(name) {
        case .ready:
            return
        case .create(let physicalName):
            do {
                try await adminPool.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(Self.quoted(physicalName)) WITH (FORCE)"))
                try await adminPool.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(Self.quoted(physicalName))"))
                let connection = try await PostgresConnection.connect(adminConfiguration.withDatabase(physicalName), logger: logger)
                do {
                    try await setup(connection)
                } catch {
                    await connection.close()
                    throw error
                }
                await connection.close()
                await registry.finish(name, error: nil)
            } catch {
                await registry.finish(name, error: error)
                throw error
            }
        }
    }

    /// `CREATE DATABASE <unique name> [TEMPLATE <template>]`; returns its configuration. Clones are serialized
    /// (CREATE DATABASE … TEMPLATE fails while anyone else is connected to the template).
    public func createDatabase(template: String? = nil) async throws -> PostgresConfiguration {
        let name = await registry.nextDatabaseName()
        var sql = "CREATE DATABASE \(Self.quoted(name))"
        if try await supportsFileCopy() {
            // Copying the files is ~30 % faster than WAL-logging every page (PostgreSQL 15's default) here.
            sql += " STRATEGY = FILE_COPY"
        }
        if let template {
            let physical = await registry.physicalName(of: template) ?? template
            sql += " TEMPLATE \(Self.quoted(physical))"
            await registry.cloneGate.acquire()
            do {
                try await adminPool.query(PostgresQuery(unsafeSQL: sql))
            } catch {
                await registry.cloneGate.release()
                throw error
            }
            await registry.cloneGate.release()
        } else {
            try await adminPool.query(PostgresQuery(unsafeSQL: sql))
        }
        await registry.track(name)
        return adminConfiguration.withDatabase(name)
    }

    /// `CREATE DATABASE … STRATEGY` exists from PostgreSQL 15 on.
    private func supportsFileCopy() async throws -> Bool {
        if let known = await registry.fileCopySupported { return known }
        let version = try await adminPool.query("SELECT current_setting('server_version_num')::int4 AS v")[0].decode("v", as: Int.self)
        await registry.setFileCopySupported(version >= 150_000)
        return version >= 150_000
    }

    /// Creates a database (from `template` if given), runs `body` with its configuration, and drops it.
    nonisolated(nonsending)
    public func withDatabase<T>(
        template: String? = nil,
        _ body: (PostgresConfiguration) async throws -> T
    ) async throws -> T {
        let configuration = try await createDatabase(template: template)
        do {
            let result = try await body(configuration)
            await dropDatabase(configuration)
            return result
        } catch {
            await dropDatabase(configuration)
            throw error
        }
    }

    /// Drops a database made by `createDatabase` (disconnecting anyone still connected). Errors are ignored.
    public func dropDatabase(_ configuration: PostgresConfiguration) async {
        guard let name = try? configuration.parsedOptions()["dbname"] else { return }
        do {
            try await adminPool.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(Self.quoted(name)) WITH (FORCE)"))
            await registry.untrack(name)
        } catch {
            logger.debug("dropping test database failed", metadata: ["error": "\(error)"])
        }
    }

    private func dropLeftovers() async {
        let names = await registry.leftovers()
        guard !names.isEmpty,
              let connection = try? await PostgresConnection.connect(adminConfiguration, logger: logger) else { return }
        for name in names {
            _ = try? await connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(Self.quoted(name)) WITH (FORCE)"))
        }
        await connection.close()
    }

    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

public struct TestClusterError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Template names, database names and the clone gate of one cluster.
private actor TemplateRegistry {
    enum Claim { case ready, create(physicalName: String) }

    private enum TemplateState {
        case creating(waiters: [CheckedContinuation<Void, any Error>])
        case ready
    }

    private var templates: [String: TemplateState] = [:]
    private var physicalNames: [String: String] = [:]
    private var counter = 0
    private var databases: Set<String> = []
    let cloneGate = AsyncGate()
    /// Names made unique per process, so runs sharing one DATABASE_URL server do not collide.
    private let processTag = "\(getpid())_\(UInt32.random(in: 0...UInt32.max) % 100_000)"

    func claim(_ name: String) async throws -> Claim {
        switch templates[name] {
        case .ready:
            return .ready
        case .creating(var waiters):
            try await withCheckedThrowingContinuation { continuation in
                waiters.append(continuation)
                templates[name] = .creating(waiters: waiters)
            }
            return .ready
        case nil:
            templates[name] = .creating(waiters: [])
            let sanitized = String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.prefix(30))
            let physical = "herald_tpl_\(sanitized)_\(processTag)"
            physicalNames[name] = physical
            return .create(physicalName: physical)
        }
    }

    func finish(_ name: String, error: (any Error)?) {
        guard case .creating(let waiters) = templates[name] else { return }
        if let error {
            templates[name] = nil  // a later caller may try again
            waiters.forEach { $0.resume(throwing: error) }
        } else {
            templates[name] = .ready
            waiters.forEach { $0.resume() }
        }
    }

    func physicalName(of template: String) -> String? {
        physicalNames[template]
    }

    func nextDatabaseName() -> String {
        counter += 1
        return "herald_test_\(processTag)_\(counter)"
    }

    private(set) var fileCopySupported: Bool?
    func setFileCopySupported(_ value: Bool) { fileCopySupported = value }

    func leftovers() -> [String] { Array(databases) + Array(physicalNames.values) }

    func track(_ name: String) { databases.insert(name) }
    func untrack(_ name: String) { databases.remove(name) }
}

/// A FIFO async mutex.
public actor AsyncGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func acquire() async {
        if !busy {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
