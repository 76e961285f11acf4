import Curl
import Foundation
import Herald
import Hummingbird
import Logging
import Postgres
import PostgresTestSupport

/// `herald-bench`: each part of Herald's foundation measured beside a baseline in the same run.
///
/// - the `Curl` client's requests/s against a local Hummingbird endpoint, beside `wrk`;
/// - pool query throughput, beside `pgbench -S` with as many clients;
/// - `COPY … FROM STDIN` rows/s, beside `psql \copy` of the same file.
///
/// Ratios, not absolute numbers, are the result: the machine is shared and noisy.
/// Usage: `herald-bench [curl] [pool] [copy] [dispatch] [e2e] [verify] [import] [campaign] [--seconds N] [--rows N] [--recipients N]`.
@main
struct Benchmarks {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        // Helper roles for `curl-isolated`, which runs each side in its own process on its own core.
        if arguments.first == "endpoint", arguments.count == 2, let port = Int(arguments[1]) {
            try await endpointApplication(port: port).runService()
            return
        }
        if arguments.first == "client", arguments.count == 3, let seconds = Int(arguments[2]) {
            let client = HTTPClient(logger: logger)
            let rate = try await clientRate(client: client, url: arguments[1], tasks: 64, seconds: seconds)
            await client.shutdown()
            print(rate)
            return
        }
        var seconds = 10
        var rows = 1_000_000
        if let index = arguments.firstIndex(of: "--seconds"), index + 1 < arguments.count {
            seconds = Int(arguments[index + 1]) ?? seconds
            arguments.removeSubrange(index...index + 1)
        }
        var messages = 200_000
        if let index = arguments.firstIndex(of: "--messages"), index + 1 < arguments.count {
            messages = Int(arguments[index + 1]) ?? messages
            arguments.removeSubrange(index...index + 1)
        }
        if let index = arguments.firstIndex(of: "--rows"), index + 1 < arguments.count {
            rows = Int(arguments[index + 1]) ?? rows
            arguments.removeSubrange(index...index + 1)
        }
        func option(_ name: String, _ fallback: Int) -> Int {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
            defer { arguments.removeSubrange(index...index + 1) }
            return Int(arguments[index + 1]) ?? fallback
        }
        let connections = option("--connections", 32)
        let backlog = option("--backlog", 100_000)
        let samples = option("--samples", 200)
        let rate = option("--rate", 500)
        let recipients = option("--recipients", 1_000_000)
        let durable = arguments.contains("--durable")
        arguments.removeAll { $0 == "--durable" }
        let selected = Set(arguments.isEmpty ? ["curl", "curl-isolated", "pool", "copy", "dispatch", "e2e", "verify", "import", "campaign"] : arguments)
        var results: [Result] = []
        if selected.contains("curl") { results.append(try await curlVersusWrk(seconds: seconds)) }
        if selected.contains("curl-isolated") { results.append(try await curlVersusWrkIsolated(seconds: seconds)) }
        if selected.contains("pool") || selected.contains("copy") {
            let cluster = try await TestCluster.makePrivate()
            if selected.contains("pool") { results.append(try await poolVersusPgbench(cluster, seconds: seconds)) }
            if selected.contains("copy") { results.append(try await copyVersusPsql(cluster, rows: rows)) }
            try await cluster.stop()
        }
        if selected.contains("dispatch") {
            // Durable as a user runs it, and with fsync off as the figure recorded before.
            if arguments.isEmpty || durable { results.append(try await dispatchVersusCurl(messages: messages, durable: true)) }
            if arguments.isEmpty || !durable { results.append(try await dispatchVersusCurl(messages: messages, durable: false)) }
        }
        if selected.contains("import") {
            let benchmark = ImportBenchmark(rows: rows)
            let report = benchmark.report(try await benchmark.run())
            print("")
            print(report)
            try benchmark.write(report, to: try ResourceLocator.locate(explicit: nil) + "/BENCHMARKS.md")
        }
        if selected.contains("campaign") {
            let benchmark = CampaignBenchmark(recipients: recipients, samples: samples)
            let report = benchmark.report(try await benchmark.run())
            print("")
            print(report)
            try benchmark.write(report, to: try ResourceLocator.locate(explicit: nil) + "/BENCHMARKS.md")
        }
        if selected.contains("verify") {
            let benchmark = VerificationBenchmark(seconds: seconds, rate: rate, connections: connections, samples: samples)
            let figures = try await benchmark.run()
            let report = benchmark.report(figures)
            print("")
            print(report)
            try benchmark.write(report, to: try ResourceLocator.locate(explicit: nil) + "/BENCHMARKS.md")
        }
        if selected.contains("e2e") {
            let benchmark = EndToEndBenchmark(seconds: seconds, connections: connections, backlog: backlog, samples: samples)
            let figures = try await benchmark.run()
            let report = benchmark.report(figures)
            print("")
            print(report)
            try benchmark.write(report, to: try ResourceLocator.locate(explicit: nil) + "/BENCHMARKS.md")
        }
        print("")
        print("| benchmark | Herald | baseline | ratio | target |")
        print("|---|---|---|---|---|")
        for result in results {
            let ratio = result.herald / result.baseline
            print(
                "| \(result.name) | \(format(result.herald)) \(result.unit) | \(result.baselineName): \(format(result.baseline)) \(result.unit) | "
                    + "\(String(format: "%.0f", ratio * 100)) % | ≥ \(Int(result.target * 100)) % \(ratio >= result.target ? "✓" : "✗") |")
        }
    }

    struct Result {
        let name: String
        let unit: String
        let herald: Double
        let baselineName: String
        let baseline: Double
        let target: Double
    }

    /// Replaces the section of BENCHMARKS.md between `begin` and `end` with `report`, or appends
    /// it (under `heading`) when the file has none yet.
    static func writeSection(_ report: String, begin: String, end: String, heading: String?, to path: String) throws {
        var text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "# Benchmarks\n"
        let section = begin + "\n" + report + "\n" + end
        if let from = text.range(of: begin), let to = text.range(of: end, range: from.upperBound..<text.endIndex) {
            text.replaceSubrange(from.lowerBound..<to.upperBound, with: section)
        } else {
            text += "\n" + (heading.map { $0 + "\n\n" } ?? "") + section + "\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func format(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        return formatter.string(from: NSNumber(value: value)) ?? String(Int(value))
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    static let logger: Logger = {
        var logger = Logger(label: "herald.bench")
        logger.logLevel = .warning
        return logger
    }()

    static func status(_ line: String) {
        FileHandle.standardError.write(Data(("» " + line + "\n").utf8))
    }

    // MARK: HTTP client versus wrk

    /// Twilio's Messages form, as a provider endpoint decodes it.
    struct MessageForm: Decodable {
        let To: String
        let From: String
        let Body: String
        let StatusCallback: String?
    }

    /// Twilio's reply, as a provider endpoint encodes it.
    struct MessageReply: Encodable {
        let sid: String
        let status: String
        let to: String
        let from: String
        let body: String
        let num_segments: String
    }

    /// A provider-like endpoint, the shape of the one Herald's dispatcher talks to: it decodes
    /// Twilio's form POST and answers with Twilio's JSON reply.
    static func endpointApplication(port: Int) -> some ApplicationProtocol {
        let router = Router()
        let decoder = URLEncodedFormDecoder()
        router.post("/2010-04-01/Accounts/AC1/Messages.json") { request, context -> Response in
            let buffer = try await request.body.collect(upTo: 64 * 1024)
            let form = try decoder.decode(MessageForm.self, from: String(buffer: buffer))
            let reply = MessageReply(
                sid: "SM0123456789abcdef0123456789abcdef", status: "queued", to: form.To, from: form.From, body: form.Body,
                num_segments: "1")
            let data = try JSONEncoder().encode(reply)
            return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(bytes: data)))
        }
        var quiet = logger
        quiet.logLevel = .critical
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: quiet)
    }

    static let formBody = "To=%2B15005550006&From=%2B15005550001&Body=Your+code+is+123456&StatusCallback=http%3A%2F%2F127.0.0.1%2Fcb"

    static func formRequest(url: String) -> Curl.HTTPRequest {
        var request = Curl.HTTPRequest(method: .POST, url: url, body: Array(formBody.utf8))
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.basicAuth = (username: "AC1", password: "token")
        return request
    }

    /// Requests per second the client completes with `tasks` requests in flight for `seconds`.
    static func clientRate(client: HTTPClient, url: String, tasks: Int, seconds: Int) async throws -> Double {
        let request = formRequest(url: url)
        let deadline = ContinuousClock.now + .seconds(seconds)
        let start = ContinuousClock.now
        let completed = try await withThrowingTaskGroup(of: Int.self) { workers in
            for _ in 0..<tasks {
                workers.addTask(executorPreference: client.executor) {
                    var count = 0
                    while ContinuousClock.now < deadline {
                        let response = try await client.send(request)
                        guard response.status == 201 else { throw BenchmarkError("status \(response.status)") }
                        count += 1
                    }
                    return count
                }
            }
            return try await workers.reduce(0, +)
        }
        return Double(completed) / (ContinuousClock.now - start).seconds
    }

    /// The standard load-testing set-up: the endpoint alone on core 0, the load generator
    /// (wrk, then the client) alone on core 1, so each side has the same CPU in both runs.
    static func curlVersusWrkIsolated(seconds: Int) async throws -> Result {
        let port = Int.random(in: 20000...40000)
        let me = CommandLine.arguments[0]
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        server.arguments = ["-c", "0", me, "endpoint", String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let url = "http://127.0.0.1:\(port)/2010-04-01/Accounts/AC1/Messages.json"
        let probe = HTTPClient(logger: logger)
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await probe.send(formRequest(url: url)))?.status == 201
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        await probe.shutdown()
        guard ready else { throw BenchmarkError("the endpoint process did not start") }
        let script = try wrkScript()
        defer { try? FileManager.default.removeItem(atPath: script) }
        let rounds = 3
        let roundSeconds = max(2, seconds / rounds)
        var wrkRates: [Double] = []
        var clientRates: [Double] = []
        for round in 1...rounds {
            status("isolated round \(round)/\(rounds): wrk on core 1, endpoint on core 0")
            wrkRates.append(try wrkRate(try run("taskset", ["-c", "1", "wrk", "-t2", "-c64", "-d\(roundSeconds)s", "-s", script, url])))
            status("isolated round \(round)/\(rounds): Curl client on core 1, endpoint on core 0")
            let output = try run("taskset", ["-c", "1", me, "client", url, String(roundSeconds)])
            guard let rate = Double(output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "") else {
                throw BenchmarkError("could not read the client's rate:\n\(output)")
            }
            clientRates.append(rate)
        }
        return Result(
            name: "HTTP client, isolated cores (endpoint core 0, load core 1)", unit: "req/s", herald: median(clientRates),
            baselineName: "wrk", baseline: median(wrkRates), target: 0.8)
    }

    static func wrkScript() throws -> String {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("herald-bench-\(UUID()).lua").path
        try """
        wrk.method = "POST"
        wrk.body = "\(formBody)"
        wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
        wrk.headers["Authorization"] = "Basic QUMxOnRva2Vu"
        """.write(toFile: script, atomically: true, encoding: .utf8)
        return script
    }

    static func wrkRate(_ output: String) throws -> Double {
        guard let rate = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") })
            .flatMap({ Double($0.split(separator: " ").last ?? "") })
        else { throw BenchmarkError("could not read wrk's rate:\n\(output)") }
        return rate
    }

    static func curlVersusWrk(seconds: Int) async throws -> Result {
        let port = Int.random(in: 20000...40000)
        let app = endpointApplication(port: port)
        let url = "http://127.0.0.1:\(port)/2010-04-01/Accounts/AC1/Messages.json"
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            try await Task.sleep(for: .milliseconds(500))
            defer { group.cancelAll() }
            let script = try wrkScript()
            defer { try? FileManager.default.removeItem(atPath: script) }
            let client = HTTPClient(logger: logger)
            // 64 connections like wrk's; `BENCH_TASKS` requests in flight (more than 64 queue in the client).
            let tasks = Int(ProcessInfo.processInfo.environment["BENCH_TASKS"] ?? "") ?? 64
            // The machine is shared and noisy: alternate short rounds and compare medians.
            let rounds = 3
            let roundSeconds = max(2, seconds / rounds)
            var wrkRates: [Double] = []
            var clientRates: [Double] = []
            for round in 1...rounds {
                status("round \(round)/\(rounds): wrk, 64 connections, \(roundSeconds) s")
                wrkRates.append(try wrkRate(try run("wrk", ["-t2", "-c64", "-d\(roundSeconds)s", "-s", script, url])))
                status("round \(round)/\(rounds): Curl client, \(tasks) requests in flight, \(roundSeconds) s")
                clientRates.append(try await clientRate(client: client, url: url, tasks: tasks, seconds: roundSeconds))
            }
            await client.shutdown()
            return Result(
                name: "HTTP client, shared cores (endpoint in-process)", unit: "req/s", herald: median(clientRates),
                baselineName: "wrk", baseline: median(wrkRates), target: 0.8)
        }
    }

    // MARK: Pool versus pgbench

    static func poolVersusPgbench(_ cluster: TestCluster, seconds: Int) async throws -> Result {
        let socket = cluster.localServer!.socketDirectory
        let clients = 8
        status("pgbench -i -s 10")
        let admin = PostgresPool(configuration: cluster.adminConfiguration, maxConnections: 1, logger: logger)
        try await admin.query("CREATE DATABASE bench")
        await admin.close()
        _ = try run("pgbench", ["-i", "-q", "-s", "10", "-h", socket, "-U", "postgres", "bench"])
        // A fixed number of transactions per client (-t): pgbench's -T timer does not fire when it
        // is started from this process (the signal mask is inherited), and a count is fairer anyway.
        let perClient = max(2_000, seconds * 2_000)
        status("pgbench -S: \(clients) clients × \(perClient) transactions")
        let output = try run("pgbench", ["-S", "-n", "-c", "\(clients)", "-j", "2", "-t", "\(perClient)", "-h", socket, "-U", "postgres", "bench"])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
            let tps = Double(line.dropFirst(6).split(separator: " ").first ?? "")
        else { throw BenchmarkError("could not read pgbench's tps:\n\(output)") }

        status("PostgresPool: \(clients) connections, \(clients) tasks × \(perClient) queries")
        let pool = PostgresPool(configuration: cluster.localServer!.configuration(database: "bench"), maxConnections: clients, logger: logger)
        try await pool.query("SELECT 1")  // like pgbench, leave connecting out of the timing
        let start = ContinuousClock.now
        let queries = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    for _ in 0..<perClient {
                        let aid = Int.random(in: 1...1_000_000)
                        let rows = try await pool.query("SELECT abalance FROM pgbench_accounts WHERE aid = \(aid)")
                        _ = try rows.first?.decode(0, as: Int.self)
                    }
                    return perClient
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        await pool.close()
        return Result(
            name: "Pool, SELECT by primary key (\(clients) clients)", unit: "queries/s", herald: Double(queries) / elapsed.seconds,
            baselineName: "pgbench -S", baseline: tps, target: 0.5)
    }

    // MARK: COPY versus psql \copy

    static func copyVersusPsql(_ cluster: TestCluster, rows: Int) async throws -> Result {
        let socket = cluster.localServer!.socketDirectory
        let file = "/tmp/herald-bench-\(UUID().uuidString.prefix(8)).csv"
        status("writing \(rows) CSV rows")
        var text = ""
        text.reserveCapacity(rows * 64)
        for index in 0..<rows {
            text += "+1415\(String(format: "%07d", index)),\"{\"\"plan\"\": \"\"pro\"\", \"\"orders\"\": \(index % 17)}\"\n"
        }
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o644)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let bench = cluster.localServer!.configuration(database: "bench")
        let pool = PostgresPool(configuration: bench, maxConnections: 1, logger: logger)
        let tableSQL = "(phone text NOT NULL, attributes jsonb NOT NULL)"
        try await pool.query("CREATE TABLE IF NOT EXISTS copy_psql \(unsafeSQL: tableSQL)")
        try await pool.query("CREATE TABLE IF NOT EXISTS copy_herald \(unsafeSQL: tableSQL)")

        status("psql \\copy")
        let psqlStart = ContinuousClock.now
        _ = try run("psql", ["-q", "-h", socket, "-U", "postgres", "-d", "bench", "-c", "\\copy copy_psql (phone, attributes) FROM '\(file)' WITH (FORMAT csv)"])
        let psqlElapsed = ContinuousClock.now - psqlStart

        status("PostgresConnection.copyFrom, 512 KiB chunks")
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        let start = ContinuousClock.now
        let copied = try await pool.withConnection { connection in
            try await connection.copyFrom("COPY copy_herald (phone, attributes) FROM STDIN WITH (FORMAT csv)") { writer in
                while let chunk = try handle.read(upToCount: 512 * 1024), !chunk.isEmpty {
                    try await writer.write(chunk)
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        try handle.close()
        guard copied == rows else { throw BenchmarkError("copied \(copied) rows, expected \(rows)") }
        await pool.close()
        return Result(
            name: "COPY of \(format(Double(rows))) (phone, jsonb) rows", unit: "rows/s", herald: Double(rows) / elapsed.seconds,
            baselineName: "psql \\copy", baseline: Double(rows) / psqlElapsed.seconds, target: 0.7)
    }

    // MARK: Helpers

    /// Runs a tool (as `postgres` for the PostgreSQL clients when we are root) and returns its output.
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        let asPostgres = ["pgbench", "psql"].contains(tool) && geteuid() == 0
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = asPostgres ? ["runuser", "-u", "postgres", "--", tool] + arguments : [tool] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw BenchmarkError("\(tool) failed (\(process.terminationStatus)):\n\(output)") }
        return output
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

