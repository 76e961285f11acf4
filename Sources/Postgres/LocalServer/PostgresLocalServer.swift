import CLibPQ
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a private PostgreSQL server could not be set up or run.
public enum PostgresLocalServerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No PostgreSQL server binaries (initdb, pg_ctl) were found.
    case notInstalled
    /// `user` cannot traverse `path`, an ancestor of the data or socket directory (e.g. a checkout under /root).
    case notTraversable(path: String, user: String)
    /// A helper program failed; `output` is what it printed.
    case commandFailed(command: String, status: Int32, output: String)
    /// A server is already running on this data directory, but with another socket directory or port.
    case runningWithOtherSettings(socketDirectory: String, port: Int)
    /// The server did not start accepting connections in time.
    case notReady(dataDirectory: String)

    public var description: String {
        switch self {
        case .notInstalled:
            "PostgreSQL server binaries (initdb, pg_ctl) were not found: install PostgreSQL (on Debian: `apt-get install postgresql`) or set HERALD_PG_BINDIR to the directory that contains initdb."
        case .notTraversable(let path, let user):
            "The `\(user)` system user cannot enter \(path) (its permissions deny it), so a PostgreSQL cluster cannot live below it: choose a data directory outside it, such as one under /var/lib or /tmp."
        case .commandFailed(let command, let status, let output):
            "\(command) failed with status \(status): \(output)"
        case .runningWithOtherSettings(let socketDirectory, let port):
            "A PostgreSQL server is already running on this data directory with socket directory \(socketDirectory) and port \(port); stop it or use those settings."
        case .notReady(let dataDirectory):
            "The PostgreSQL server in \(dataDirectory) did not start accepting connections in time; see its server.log."
        }
    }
}

/// Controls a private PostgreSQL server in a data directory: Herald's embedded mode and the test harness.
///
/// The server listens only on a Unix socket (`listen_addresses = ''`) in `socketDirectory`, with trust
/// authentication for local connections. As root, the cluster belongs to the `postgres` system user (initdb refuses
/// to run as root) and the programs run through `runuser -u postgres --`.
public struct PostgresLocalServer: Sendable {
    public enum StopMode: String, Sendable {
        /// Wait for clients to disconnect.
        case smart
        /// Roll back open transactions and disconnect clients (the default).
        case fast
        /// Abort without a clean shutdown (recovery runs at next start).
        case immediate
    }

    public let dataDirectory: String
    public let socketDirectory: String
    public let port: Int
    /// Extra server settings passed as `-c name=value` at start (e.g. `["fsync": "off"]` for tests).
    public var settings: [String: String]
    private let logger: Logger
    private let explicitBinDirectory: String?

    /// The system user that owns the cluster when we run as root.
    public static let clusterUser = "postgres"

    public init(
        dataDirectory: String,
        socketDirectory: String? = nil,
        port: Int = 5432,
        settings: [String: String] = [:],
        binDirectory: String? = nil,
        logger: Logger
    ) {
        let data = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.dataDirectory = data
        self.socketDirectory = socketDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? data
        self.port = port
        self.settings = settings
        self.explicitBinDirectory = binDirectory
        self.logger = logger
    }

    // MARK: - Locating the binaries

    private static let binDirectoryCache = LockedState<String?>(nil)

    /// The directory with `initdb` and `pg_ctl`: `$HERALD_PG_BINDIR`; else `pg_config --bindir` if it has initdb;
    /// else the highest `/usr/lib/postgresql/*/bin`. Throws `.notInstalled` when none has them.
    public static func locateBinDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        searchRoots: [String] = ["/usr/lib/postgresql"]
    ) async throws -> String {
        func hasInitdb(_ directory: String) -> Bool {
            FileManager.default.isExecutableFile(atPath: directory + "/initdb")
        }
        if let configured = environment["HERALD_PG_BINDIR"], !configured.isEmpty {
            guard hasInitdb(configured) else { throw PostgresLocalServerError.notInstalled }
            return configured
        }
        let path = environment["PATH"] ?? ""
        if let pgConfig = path.split(separator: ":").map({ "\($0)/pg_config" }).first(where: FileManager.default.isExecutableFile(atPath:)),
           let output = try? await ProcessRunner.run(pgConfig, ["--bindir"]), output.status == 0,
           hasInitdb(output.text) {
            return output.text
        }
        var candidates: [(version: [Int], path: String)] = []
        for root in searchRoots {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
                let bin = "\(root)/\(entry)/bin"
                guard hasInitdb(bin) else { continue }
                candidates.append((entry.split(separator: ".").map { Int($0) ?? 0 }, bin))
            }
        }
        if let best = candidates.max(by: { $0.version.lexicographicallyPrecedes($1.version) }) {
            return best.path
        }
        throw PostgresLocalServerError.notInstalled
    }

    private func binDirectory() async throws -> String {
        if let explicitBinDirectory {
            guard FileManager.default.isExecutableFile(atPath: explicitBinDirectory + "/initdb") else {
                throw PostgresLocalServerError.notInstalled
            }
            return explicitBinDirectory
        }
        if let cached = Self.binDirectoryCache.withLock({ $0 }) { return cached }
        let located = try await Self.locateBinDirectory()
        Self.binDirectoryCache.withLock { $0 = located }
        return located
    }

    // MARK: - Permissions

    /// Whether `user` can traverse (search) every existing directory on the way to `path`, `path` included.
    /// Components that do not exist yet are not checked (they are created with mode 755).
    public static func isTraversable(byUser user: String, path: String) -> Bool {
        firstUntraversable(byUser: user, path: path) == nil
    }

    static func firstUntraversable(byUser user: String, path: String) -> String? {
        guard let entry = getpwnam(user) else { return "/" }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        if uid == 0 { return nil }
        var groupCount: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(groupCount))
        #if canImport(Darwin)
        var darwinGroups = [Int32](repeating: 0, count: Int(groupCount))
        _ = getgrouplist(user, Int32(gid), &darwinGroups, &groupCount)
        groups = darwinGroups.prefix(Int(max(groupCount, 0))).map { gid_t($0) }
        #else
        if getgrouplist(user, gid, &groups, &groupCount) < 0 {
            groups = [gid_t](repeating: 0, count: Int(groupCount))
            _ = getgrouplist(user, gid, &groups, &groupCount)
        }
        groups = Array(groups.prefix(Int(max(groupCount, 0))))
        #endif
        let standardized = URL(fileURLWithPath: path).standardizedFileURL.path
        var current = ""
        let components = standardized.split(separator: "/")
        for index in -1..<components.count {
            current = index < 0 ? "/" : (current == "/" ? "" : current) + "/" + components[index]
            var info = stat()
            guard stat(current, &info) == 0 else { return nil }
            guard (info.st_mode & S_IFMT) == S_IFDIR else { continue }
            let mode = info.st_mode
            let allowed: Bool
            if info.st_uid == uid {
                allowed = mode & S_IXUSR != 0
            } else if info.st_gid == gid || groups.contains(info.st_gid) {
                allowed = mode & S_IXGRP != 0
            } else {
                allowed = mode & S_IXOTH != 0
            }
            if !allowed { return current }
        }
        return nil
    }

    // MARK: - Lifecycle

    /// Runs initdb once (when `PG_VERSION` is absent): `-U postgres --auth=trust -E UTF8 --no-locale`
    /// (plus `--no-sync` when `settings` turn fsync off).
    public func initializeIfNeeded() async throws {
        if FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") { return }
        let bin = try await binDirectory()
        try prepareDirectory(dataDirectory, mode: 0o700)
        if socketDirectory != dataDirectory { try prepareDirectory(socketDirectory, mode: 0o700) }
        logger.info("initializing PostgreSQL cluster", metadata: ["postgres.data_directory": "\(dataDirectory)"])
        var arguments = ["-D", dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]
        // A cluster that will run with fsync off (tests) need not wait for initdb's own sync either (~1.5 s).
        if settings["fsync"] == "off" { arguments.append("--no-sync") }
        let output = try await ProcessRunner.run(bin + "/initdb", arguments, as: Self.clusterUser)
        guard output.status == 0 else {
            throw PostgresLocalServerError.commandFailed(command: "initdb", status: output.status, output: output.text)
        }
    }

    /// Creates `directory` (and parents) and, as root, hands it to the `postgres` user; checks traversal first.
    private func prepareDirectory(_ directory: String, mode: Int) throws {
        let parent = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        if ProcessRunner.isRoot, let blocked = Self.firstUntraversable(byUser: Self.clusterUser, path: parent) {
            throw PostgresLocalServerError.notTraversable(path: blocked, user: Self.clusterUser)
        }
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        } catch {
            throw PostgresLocalServerError.commandFailed(command: "mkdir \(directory)", status: -1, output: "\(error)")
        }
        if ProcessRunner.isRoot {
            guard let entry = getpwnam(Self.clusterUser) else { throw PostgresLocalServerError.notInstalled }
            guard chown(directory, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
                throw PostgresLocalServerError.commandFailed(command: "chown \(directory)", status: errno, output: String(cString: strerror(errno)))
            }
        }
    }

    /// Starts the server (initializing the cluster first if needed) and waits until it accepts connections.
    /// A server already running on this data directory (say, left by a process that was killed) is reused; a stale
    /// `postmaster.pid` whose process is gone is cleared.
    public func start() async throws {
        try await initializeIfNeeded()
        let bin = try await binDirectory()
        if socketDirectory != dataDirectory, !FileManager.default.fileExists(atPath: socketDirectory) {
            try prepareDirectory(socketDirectory, mode: 0o700)  // e.g. under /run, emptied by a reboot
        }
        if let running = runningPostmaster() {
            guard running.socketDirectory == socketDirectory, running.port == port else {
                throw PostgresLocalServerError.runningWithOtherSettings(socketDirectory: running.socketDirectory, port: running.port)
            }
            logger.info("reusing running PostgreSQL server", metadata: ["postgres.pid": "\(running.pid)"])
            try await waitUntilAcceptingConnections(timeout: .seconds(30))
            return
        }
        removeStalePidFile()

        var options = "-k \(Self.shellQuoted(socketDirectory)) -p \(port) -c listen_addresses=''"
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            options += " -c \(Self.shellQuoted("\(name)=\(value)"))"
        }
        let arguments = ["-D", dataDirectory, "-l", dataDirectory + "/server.log", "-w", "-t", "60", "-o", options, "start"]
        // Right after a postmaster was killed, its children may still hold the old shared memory for a moment;
        // the new postmaster refuses to start until they are gone, so retry for a while.
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let output = try await ProcessRunner.run(bin + "/pg_ctl", arguments, as: Self.clusterUser)
            if output.status == 0 { break }
            if runningPostmaster() != nil {
                // Another process started it concurrently.
                break
            }
            guard ContinuousClock.now < deadline else {
                throw PostgresLocalServerError.commandFailed(command: "pg_ctl start", status: output.status, output: output.text + "\n" + serverLogTail())
            }
            logger.debug("pg_ctl start failed; retrying", metadata: ["postgres.output": "\(output.text)"])
            try await Task.sleep(for: .milliseconds(250))
            removeStalePidFile()
        }
        try await waitUntilAcceptingConnections(timeout: .seconds(30))
        logger.info("PostgreSQL server started", metadata: ["postgres.socket_directory": "\(socketDirectory)", "postgres.port": "\(port)"])
    }

    /// Stops the server if it runs (`pg_ctl stop -m mode`).
    public func stop(mode: StopMode = .fast) async throws {
        guard runningPostmaster() != nil else { return }
        let bin = try await binDirectory()
        let output = try await ProcessRunner.run(
            bin + "/pg_ctl", ["-D", dataDirectory, "-m", mode.rawValue, "-w", "-t", "60", "stop"], as: Self.clusterUser
        )
        if output.status != 0, runningPostmaster() != nil {
            throw PostgresLocalServerError.commandFailed(command: "pg_ctl stop", status: output.status, output: output.text)
        }
        logger.info("PostgreSQL server stopped", metadata: ["postgres.data_directory": "\(dataDirectory)"])
    }

    /// Whether a postmaster for this data directory is alive.
    public func isRunning() async -> Bool {
        runningPostmaster() != nil
    }

    /// Connects as `postgres` to `database` over the socket.
    public func configuration(database: String = "postgres") -> PostgresConfiguration {
        PostgresConfiguration(conninfo: PostgresConninfo.render([
            ("host", socketDirectory), ("port", String(port)), ("user", "postgres"), ("dbname", database),
        ]))
    }

    // MARK: - postmaster.pid

    struct RunningPostmaster {
        var pid: pid_t
        var port: Int
        var socketDirectory: String
    }

    /// The postmaster described by `postmaster.pid`, if its process is alive and is a postgres process.
    func runningPostmaster() -> RunningPostmaster? {
        guard let contents = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8) else { return nil }
        let lines = contents.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let pid = lines.first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }), pid > 0 else { return nil }
        guard Self.isPostgresProcess(pid) else { return nil }
        let port = lines.count > 3 ? Int(lines[3].trimmingCharacters(in: .whitespaces)) ?? port : port
        let socket = lines.count > 4 ? lines[4].trimmingCharacters(in: .whitespaces) : socketDirectory
        return RunningPostmaster(pid: pid, port: port, socketDirectory: socket.isEmpty ? socketDirectory : socket)
    }

    static func isPostgresProcess(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        #if os(Linux)
        // A recycled PID belonging to something else does not count.
        if let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) {
            let name = command.trimmingCharacters(in: .whitespacesAndNewlines)
            return name.hasPrefix("postgres") || name.hasPrefix("postmaster")
        }
        #endif
        return true
    }

    private func removeStalePidFile() {
        let path = dataDirectory + "/postmaster.pid"
        if FileManager.default.fileExists(atPath: path), runningPostmaster() == nil {
            logger.info("removing stale postmaster.pid", metadata: ["postgres.data_directory": "\(dataDirectory)"])
            unlink(path)
        }
    }

    private func serverLogTail() -> String {
        guard let log = try? String(contentsOfFile: dataDirectory + "/server.log", encoding: .utf8) else { return "" }
        return log.split(separator: "\n").suffix(10).joined(separator: "\n")
    }

    private func waitUntilAcceptingConnections(timeout: Duration) async throws {
        let conninfo = configuration().conninfo
        let deadline = ContinuousClock.now + timeout
        while true {
            let status = await ProcessRunner.onDedicatedThread { PQping(conninfo).rawValue }
            if status == PQPING_OK.rawValue { return }
            guard ContinuousClock.now < deadline else {
                throw PostgresLocalServerError.notReady(dataDirectory: dataDirectory)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
