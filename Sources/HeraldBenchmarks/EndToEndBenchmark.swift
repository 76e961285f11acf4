import Curl
import Foundation
import Herald
import Logging
import Postgres

/// The transactional path as a user meets it: the release `herald serve` on its embedded,
/// durable PostgreSQL (default settings: fsync and synchronous commit on), `wrk` posting
/// `{"to","body"}` to `POST /v1/messages` through the public API, the dispatcher sending to
/// `herald provider-sim` configured as a Twilio provider, receipts on.
///
/// Baselines in the same run: `wrk` on the same server's `/healthz`, and `wrk` posting
/// Twilio-format requests straight to the simulator. Then the latency of a transactional
/// message from its 202 to the simulator's acceptance, on an idle queue and behind a backlog
/// of queued marketing messages.
struct EndToEndBenchmark {
    let seconds: Int
    let connections: Int
    let backlog: Int
    let samples: Int

    /// One `wrk` run, read from its `--latency` report.
    struct WrkRun {
        var rate: Double
        var requests: Int
        var errors: Int
        var p50: Double
        var p99: Double
    }

    struct Figures {
        var healthz: WrkRun
        var simulator: WrkRun
        var intake: WrkRun
        var accepted: Int
        var delivered: Int
        var endToEndRate: Double
        var duplicates: Int
        var heraldCPUPerMessage: Double
        var postgresCPUPerMessage: Double
        var rssMiB: Double
        var idleLatency: (p50: Double, p99: Double)
        var backlogLatency: (p50: Double, p99: Double)
        var backlogDrainRate: Double
    }

    static let sid = BenchmarkStack.sid
    static let token = BenchmarkStack.token

    func run() async throws -> Figures {
        let stack = try await BenchmarkStack.start(name: "e2e")
        defer { stack.stop() }
        let (url, simURL, server, embedded, pool) = (stack.url, stack.simURL, stack.server, stack.embedded, stack.pool)
        let key = try stack.apiKey("bench", scope: "admin")
        let client = HTTPClient(logger: Benchmarks.logger)
        defer { Task { await client.shutdown() } }
        try await stack.addTwilioProvider(client: client, adminKey: key)

        // Baselines: the same server's /healthz, and the simulator itself.
        Benchmarks.status("e2e: baseline, wrk on /healthz, \(connections) connections, \(seconds) s")
        let healthz = try wrk(url + "/healthz", script: nil)
        Benchmarks.status("e2e: /healthz \(Benchmarks.format(healthz.rate)) req/s")
        Benchmarks.status("e2e: baseline, wrk posting Twilio requests straight to the simulator")
        let simulator = try wrk(simURL + "/2010-04-01/Accounts/\(Self.sid)/Messages.json", script: try Self.simulatorScript())
        Benchmarks.status("e2e: simulator \(Benchmarks.format(simulator.rate)) req/s")
        _ = try await client.send(Curl.HTTPRequest(method: .DELETE, url: simURL + "/sim/messages"))

        // Herald: intake through the API while the dispatcher sends and receipts come back.
        let heraldPID = server.processIdentifier
        let postmaster = try Self.postmasterPID(embedded.clusterDirectory)
        let cpuBefore = (herald: try Self.cpuSeconds(heraldPID), postgres: try Self.treeCPUSeconds(postmaster))
        Benchmarks.status("e2e: Herald, wrk posting {to, body} to /v1/messages with the dispatcher and receipts on")
        let start = ContinuousClock.now
        // BENCH_PERF=file: a CPU profile of Herald during the intake (`perf report -i file`).
        let profiler = try ProcessInfo.processInfo.environment["BENCH_PERF"].map { file in
            // Stopped by SIGINT once wrk is done (`-- sleep N` never ends here: perf misses its
            // child's exit when started from this process).
            try Self.start("/usr/bin/perf", ["record", "-e", "cpu-clock", "-g", "-p", String(heraldPID), "-o", file],
                           environment: [:])
        }
        let intake = try wrk(url + "/v1/messages", script: try Self.intakeScript(key: key))
        profiler?.interrupt()
        profiler?.waitUntilExit()
        // Requests wrk cut off at its deadline may still commit: count once the API is quiet.
        try await Task.sleep(for: .milliseconds(500))
        let accepted = try await Self.count(pool, "SELECT count(*)::int8 FROM messages")
        var delivered = 0
        var end = ContinuousClock.now
        let drainDeadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < drainDeadline {
            delivered = try await Self.count(pool, "SELECT count(*)::int8 FROM messages WHERE status = 'delivered'")
            end = ContinuousClock.now
            if delivered >= accepted { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        Benchmarks.status("e2e: intake \(Benchmarks.format(intake.rate)) msg/s (p99 \(intake.p99) ms, \(intake.errors) errors); "
                          + "\(delivered) of \(accepted) delivered")
        let cpuAfter = (herald: try Self.cpuSeconds(heraldPID), postgres: try Self.treeCPUSeconds(postmaster))
        let stats = try JSONSerialization.jsonObject(with: Data(try await client.send(Curl.HTTPRequest(url: simURL + "/sim/stats")).body)) as? [String: Any]
        let duplicates = stats?["duplicates"] as? Int ?? -1
        let rss = try Self.peakRSSMiB(heraldPID)

        // Latency of a transactional message: idle queue, then behind queued marketing.
        Benchmarks.status("e2e: latency from 202 to the simulator, idle queue, \(samples) messages")
        let idle = try await latencies(client: client, url: url, key: key, simURL: simURL, tag: "idle")
        Benchmarks.status("e2e: latency behind \(backlog) queued marketing messages")
        try await pool.query(
            """
            INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
            SELECT '+1415' || (2000000 + i % 1000000)::text, 'US', 'offer ' || i, 'sms', 'marketing', 1, 'queued', 'GSM-7', 1, 10
            FROM generate_series(1, \(backlog)) AS i
            """)
        let backlogStart = ContinuousClock.now
        let watcher = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(2))
                let rows = try await pool.query("SELECT status, count(*)::int8 FROM messages WHERE body LIKE '%(backlog)' GROUP BY 1")
                let counts = try rows.map { "\(try $0.decode(0, as: String.self))=\(try $0.decode(1, as: Int64.self))" }
                let all = try await pool.query("SELECT kind, status, count(*)::int8 FROM messages WHERE status IN ('queued','sending') GROUP BY 1, 2")
                let queue = try all.map { "\(try $0.decode(0, as: String.self))/\(try $0.decode(1, as: String.self))=\(try $0.decode(2, as: Int64.self))" }
                // What the database's sessions are doing right now (a stall shows here).
                let activity = try await pool.query(
                    """
                    SELECT coalesce(wait_event_type || ':' || wait_event, 'cpu') || ' ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 40),
                           count(*)::int8
                    FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 2 DESC
                    """)
                let busy = try activity.map { "\(try $0.decode(1, as: Int64.self))× \(try $0.decode(0, as: String.self))" }
                Benchmarks.status("e2e: samples \(counts.joined(separator: " ")); queue \(queue.joined(separator: " ")); "
                                  + "active: \(busy.joined(separator: " | "))")
            }
        }
        defer { watcher.cancel() }
        let behind = try await latencies(client: client, url: url, key: key, simURL: simURL, tag: "backlog")
        while try await Self.count(pool, "SELECT count(*)::int8 FROM messages WHERE status IN ('queued', 'sending')") > 0 {
            try await Task.sleep(for: .milliseconds(200))
        }
        let drainRate = Double(backlog) / (ContinuousClock.now - backlogStart).seconds
        // Where the time went: queued → outcome recorded (claim and submission) as Herald saw it.
        let recorded = try await pool.query(
            """
            SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)),
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at))
            FROM messages WHERE body LIKE '%(backlog)'
            """)
        Benchmarks.status("e2e: behind the backlog, queued → sent recorded: p50 \(try recorded[0].decode(0, as: Double.self)) s, "
                          + "p99 \(try recorded[0].decode(1, as: Double.self)) s")

        stack.stopServer()
        let messages = Double(max(delivered, 1))
        return Figures(
            healthz: healthz, simulator: simulator, intake: intake, accepted: accepted, delivered: delivered,
            endToEndRate: Double(delivered) / (end - start).seconds, duplicates: duplicates,
            heraldCPUPerMessage: (cpuAfter.herald - cpuBefore.herald) / messages,
            postgresCPUPerMessage: (cpuAfter.postgres - cpuBefore.postgres) / messages,
            rssMiB: rss, idleLatency: idle, backlogLatency: behind, backlogDrainRate: drainRate)
    }

    /// Posts `samples` transactional messages one after another and measures, for each, the
    /// time from its 202 to the simulator's acceptance (the simulator's clock: same machine).
    func latencies(client: HTTPClient, url: String, key: String, simURL: String, tag: String) async throws -> (p50: Double, p99: Double) {
        var answered: [(to: String, at: Double, reply: String)] = []
        for index in 0..<samples {
            let to = "+1628" + String(format: "%07d", 2_000_000 + (tag == "idle" ? 0 : 500_000) + index)
            var request = Curl.HTTPRequest(method: .POST, url: url + "/v1/messages",
                                           body: Array("{\"to\":\"\(to)\",\"body\":\"Your code is \(100000 + index) (\(tag))\"}".utf8))
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            request.headers.add(name: "Content-Type", value: "application/json")
            let response = try await client.send(request)
            let at = Date().timeIntervalSince1970
            guard response.status == 202 else { throw BenchmarkError("a latency sample got \(response.status)") }
            answered.append((to, at, String(decoding: response.body, as: UTF8.self)))
            try await Task.sleep(for: .milliseconds(20))
        }
        var latencies: [Double] = []
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let deadline = ContinuousClock.now + .seconds(120)
        for sample in answered {
            while true {
                let response = try await client.send(Curl.HTTPRequest(url: simURL + "/sim/messages?to=%2B" + sample.to.dropFirst()))
                let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                if let first = (object?["data"] as? [[String: Any]])?.first, let received = first["received_at"] as? String,
                   let date = formatter.date(from: received)
                {
                    latencies.append(max(0, date.timeIntervalSince1970 - sample.at) * 1000)
                    break
                }
                guard ContinuousClock.now < deadline else {
                    throw BenchmarkError("a latency sample never reached the simulator: \(sample.reply); simulator: \(String(decoding: response.body, as: UTF8.self).prefix(300))")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        latencies.sort()
        return (latencies[latencies.count / 2], latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))])
    }

    // MARK: wrk

    func wrk(_ url: String, script: String?) throws -> WrkRun {
        var arguments = ["-t2", "-c\(connections)", "-d\(seconds)s", "--latency"]
        if let script { arguments += ["-s", script] }
        let output = try Benchmarks.run("wrk", arguments + [url])
        return try Self.parse(output)
    }

    static func parse(_ output: String) throws -> WrkRun {
        let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        func latency(_ percentile: String) -> Double? {
            guard let line = lines.first(where: { $0.hasPrefix(percentile + " ") }),
                  let value = line.split(separator: " ", omittingEmptySubsequences: true).last
            else { return nil }
            return milliseconds(String(value))
        }
        guard let rateLine = lines.first(where: { $0.hasPrefix("Requests/sec:") }),
              let rate = Double(rateLine.split(separator: " ").last ?? ""),
              let totalLine = lines.first(where: { $0.contains(" requests in ") }),
              let requests = Int(totalLine.split(separator: " ").first ?? ""),
              let p50 = latency("50%"), let p99 = latency("99%")
        else { throw BenchmarkError("could not read wrk's report:\n\(output)") }
        let errors = lines.first(where: { $0.hasPrefix("Non-2xx or 3xx responses:") })
            .flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        return WrkRun(rate: rate, requests: requests, errors: errors, p50: p50, p99: p99)
    }

    static func milliseconds(_ text: String) -> Double? {
        for (suffix, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60_000.0)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return nil
    }

    /// Unique (to, body) per request, so the simulator's duplicate count means something.
    static func intakeScript(key: String) throws -> String {
        try counterScript("""
            local body = string.format('{"to":"+1415%07d","body":"Your code is %d-%d"}', 2000000 + (counter * 7 + tid) % 1000000, tid, counter)
            return wrk.format("POST", "/v1/messages", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer \(key)"}, body)
            """)
    }

    static func simulatorScript() throws -> String {
        let credentials = Data("\(sid):\(token)".utf8).base64EncodedString()
        return try counterScript("""
            local body = string.format("To=%%2B1415%07d&From=%%2B15005550006&Body=baseline+%d-%d", 2000000 + counter % 1000000, tid, counter)
            return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = "Basic \(credentials)"}, body)
            """)
    }

    /// A wrk script whose `request` runs `body` with `tid` (the thread, from 1) and `counter`
    /// (this thread's requests so far) set.
    static func counterScript(_ body: String) throws -> String {
        try script("""
            local threads = 0
            function setup(thread)
              threads = threads + 1
              thread:set("tid", threads)
            end
            local counter = 0
            request = function()
              counter = counter + 1
            \(body)
            end
            """)
    }

    static func script(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("herald-e2e-\(UUID()).lua").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: Processes

    static func start(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = environment }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return process
    }

    static func capture(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchmarkError("herald \(arguments.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func waitFor(_ url: String, seconds: Int) async throws {
        let client = HTTPClient(logger: Benchmarks.logger)
        defer { Task { await client.shutdown() } }
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let response = try? await client.send(Curl.HTTPRequest(url: url, timeout: .seconds(1))), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchmarkError("\(url) did not answer")
    }

    static func count(_ pool: PostgresPool, _ sql: PostgresQuery) async throws -> Int {
        Int(try await pool.query(sql)[0].decode(0, as: Int64.self))
    }

    // MARK: /proc

    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// utime + stime (+ the children it waited for, when `children`) of one process.
    static func cpuSeconds(_ pid: Int32, children: Bool = false) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which may hold spaces) in parentheses.
        guard let close = stat.lastIndex(of: ")") else { throw BenchmarkError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is state (field 3); utime is field 14, stime 15, cutime 16, cstime 17.
        let values = (11...14).map { Double(fields[$0]) ?? 0 }
        return (values[0] + values[1] + (children ? values[2] + values[3] : 0)) / ticks
    }

    /// The postmaster and every backend it runs, plus the backends that already exited.
    static func treeCPUSeconds(_ postmaster: Int32) throws -> Double {
        var total = try cpuSeconds(postmaster, children: true)
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[1]) == postmaster { total += (try? cpuSeconds(pid)) ?? 0 }
        }
        return total
    }

    static func postmasterPID(_ clusterDirectory: String) throws -> Int32 {
        let text = try String(contentsOfFile: clusterDirectory + "/postmaster.pid", encoding: .utf8)
        guard let pid = text.split(separator: "\n").first.flatMap({ Int32($0) }) else { throw BenchmarkError("no postmaster.pid") }
        return pid
    }

    static func peakRSSMiB(_ pid: Int32) throws -> Double {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { throw BenchmarkError("no VmHWM") }
        return kib / 1024
    }
}

extension EndToEndBenchmark {
    static let beginMarker = "<!-- e2e:begin (written by herald-bench e2e) -->"
    static let endMarker = "<!-- e2e:end -->"

    /// The run as Markdown: each figure beside its baseline from the same run.
    func report(_ f: Figures) -> String {
        func n(_ value: Double) -> String { Benchmarks.format(value) }
        func ms(_ value: Double) -> String { String(format: value < 10 ? "%.2f ms" : "%.1f ms", value) }
        func percent(_ part: Double, _ whole: Double) -> String { String(format: "%.1f %%", part / whole * 100) }
        func mark(_ ok: Bool) -> String { ok ? "✓" : "✗" }
        let intakeShare = f.intake.rate / f.healthz.rate
        let endToEndShare = f.endToEndRate / f.simulator.rate
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        return """
            Latest run: \(date), `herald-bench e2e --seconds \(seconds) --connections \(connections) --backlog \(backlog)`, \
            release build, \(ProcessInfo.processInfo.activeProcessorCount) cores. **PostgreSQL: the embedded cluster with its \
            default, durable settings (fsync on, synchronous_commit on, full_page_writes on)** — checked by the benchmark. \
            `wrk -t2 -c\(connections) -d\(seconds)s --latency` for every load; Herald, PostgreSQL, the simulator and wrk share the cores.

            | measure | Herald | baseline (same run) | ratio | target |
            |---|---|---|---|---|
            | intake, `POST /v1/messages` with dispatcher and receipts running | \(n(f.intake.rate)) msg/s (\(f.intake.errors) non-202) | wrk on `/healthz`: \(n(f.healthz.rate)) req/s | \(percent(f.intake.rate, f.healthz.rate)) | ≥ 15 % \(mark(intakeShare >= 0.15)) |
            | intake latency p50 / p99 | \(ms(f.intake.p50)) / \(ms(f.intake.p99)) | `/healthz`: \(ms(f.healthz.p50)) / \(ms(f.healthz.p99)) | | p99 < 20 ms \(mark(f.intake.p99 < 20)) |
            | end to end: API → simulator → receipt recorded | \(n(f.endToEndRate)) msg/s (\(n(Double(f.delivered))) of \(n(Double(f.accepted))) delivered) | wrk straight to the simulator: \(n(f.simulator.rate)) req/s | \(percent(f.endToEndRate, f.simulator.rate)) | ≥ 15 % \(mark(endToEndShare >= 0.15)) |
            | duplicates at the simulator | \(f.duplicates) | | | 0 \(mark(f.duplicates == 0)) |
            | CPU per delivered message | Herald \(String(format: "%.0f µs", f.heraldCPUPerMessage * 1e6)), PostgreSQL \(String(format: "%.0f µs", f.postgresCPUPerMessage * 1e6)) | | | |
            | Herald peak RSS | \(String(format: "%.0f MiB", f.rssMiB)) | | | |
            | transactional 202 → simulator, idle queue, p50 / p99 | \(ms(f.idleLatency.p50)) / \(ms(f.idleLatency.p99)) | | | p99 < 50 ms \(mark(f.idleLatency.p99 < 50)) |
            | the same behind \(n(Double(backlog))) queued marketing messages, p50 / p99 | \(ms(f.backlogLatency.p50)) / \(ms(f.backlogLatency.p99)) | backlog drained at \(n(f.backlogDrainRate)) msg/s | | p99 < 1 s \(mark(f.backlogLatency.p99 < 1000)) |
            """
    }

    func write(_ report: String, to path: String) throws {
        try Benchmarks.writeSection(report, begin: Self.beginMarker, end: Self.endMarker, heading: nil, to: path)
        Benchmarks.status("e2e: written to \(path)")
    }

}
