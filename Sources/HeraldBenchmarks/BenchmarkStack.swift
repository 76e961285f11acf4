import Curl
import Foundation
import Herald
import Postgres

/// What the end-to-end benchmarks run against: `herald provider-sim`, and the release
/// `herald serve` on its own embedded cluster with PostgreSQL's default, durable settings
/// (checked: fsync and synchronous commit on), in a temporary data directory.
final class BenchmarkStack {
    static let sid = "AC" + String(repeating: "0", count: 32)
    static let token = "bench-token"

    let herald: String
    let root: String
    let url: String
    let simURL: String
    let environment: [String: String]
    let sim: Process
    let server: Process
    let embedded: EmbeddedDatabase
    /// Two connections to the cluster, for the benchmark's own reads.
    let pool: PostgresPool
    private var serverStopped = false

    private init(herald: String, root: String, url: String, simURL: String, environment: [String: String], sim: Process, server: Process,
                 embedded: EmbeddedDatabase, pool: PostgresPool) {
        self.herald = herald; self.root = root; self.url = url; self.simURL = simURL; self.environment = environment
        self.sim = sim; self.server = server; self.embedded = embedded; self.pool = pool
    }

    /// Starts both; `name` labels the status lines and the temporary directory. `receipts`: the
    /// simulator posts delivery receipts back (after its default 100 ms).
    static func start(name: String, receipts: Bool = true) async throws -> BenchmarkStack {
        let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let herald = bin.appendingPathComponent("herald").path
        let resources = try ResourceLocator.locate(explicit: nil)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("herald-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)

        let simPort = try Benchmarks.freePort()
        let sim = try EndToEndBenchmark.start(
            herald, ["provider-sim", "--port", String(simPort), "--auth-token", token] + (receipts ? [] : ["--no-receipts"]), environment: [:])
        let simURL = "http://127.0.0.1:\(simPort)"
        try await Benchmarks.waitForHTTP(simURL + "/sim/stats")

        // Herald: the release binary, its embedded cluster with default (durable) settings.
        let port = try Benchmarks.freePort()
        let url = "http://127.0.0.1:\(port)"
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") && $0.key != "DATABASE_URL" }
        environment["HERALD_DATA_DIR"] = root + "/data"
        environment["HERALD_PORT"] = String(port)
        environment["HERALD_HOME"] = resources
        environment["HERALD_PUBLIC_URL"] = url
        environment["HERALD_ALLOW_PRIVATE_NETWORKS"] = "true"  // the simulator listens on loopback
        environment["LOG_LEVEL"] = "warning"
        Benchmarks.status("\(name): starting herald serve on its embedded PostgreSQL (durable defaults)")
        let server = try EndToEndBenchmark.start(herald, ["serve"], environment: environment)
        try await EndToEndBenchmark.waitFor(url + "/readyz", seconds: 120)
        let embedded = try EmbeddedDatabase(dataDirectory: root + "/data", logger: Benchmarks.logger)
        let pool = PostgresPool(configuration: embedded.server.configuration(database: EmbeddedDatabase.databaseName),
                                maxConnections: 2, logger: Benchmarks.logger)
        let stack = BenchmarkStack(herald: herald, root: root, url: url, simURL: simURL, environment: environment, sim: sim,
                                   server: server, embedded: embedded, pool: pool)
        let settings = try await pool.query("SELECT current_setting('fsync'), current_setting('synchronous_commit')")
        guard try settings[0].decode(0, as: String.self) == "on", try settings[0].decode(1, as: String.self) == "on" else {
            stack.stop()
            throw BenchmarkError("the embedded cluster is not durable")
        }
        return stack
    }

    /// A new API key with `scope`, made with the CLI as a user would.
    func apiKey(_ name: String, scope: String) throws -> String {
        try EndToEndBenchmark.capture(herald, ["api-keys", "create", "--name", name, "--scope", scope], environment: environment)
            .split(separator: "\n").last.map(String.init) ?? ""
    }

    /// The simulator as a Twilio provider.
    func addTwilioProvider(client: HTTPClient, adminKey: String) async throws {
        var create = Curl.HTTPRequest(method: .POST, url: url + "/v1/providers", body: Array("""
            {"name":"sim","type":"twilio","config":{"account_sid":"\(Self.sid)","auth_token":"\(Self.token)",\
            "from":"+15005550006","base_url":"\(simURL)"}}
            """.utf8))
        create.headers.add(name: "Authorization", value: "Bearer \(adminKey)")
        create.headers.add(name: "Content-Type", value: "application/json")
        let created = try await client.send(create)
        guard created.status == 201 else {
            throw BenchmarkError("creating the provider: \(created.status) \(String(decoding: created.body, as: UTF8.self))")
        }
    }

    /// Stops `herald serve` (before the rest, to read what it used).
    func stopServer() {
        guard !serverStopped else { return }
        serverStopped = true
        server.terminate()
        server.waitUntilExit()
    }

    /// Stops everything and removes the temporary directory.
    func stop() {
        stopServer()
        sim.terminate()
        sim.waitUntilExit()
        let pool = self.pool
        Task { await pool.close() }
        try? FileManager.default.removeItem(atPath: root)
    }
}
