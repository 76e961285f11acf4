import Curl
import Foundation
import Herald
import Logging
import Postgres
import Synchronization

/// Verification codes as an app meets them: the release `herald serve` on its embedded, durable
/// PostgreSQL, the simulator as a Twilio provider. Creates at a fixed rate (open loop: latency
/// counted from each request's scheduled time, so a stall is never hidden), then checks of every
/// code with the code the simulator received, at the same rate; the same server's `/healthz` at
/// the same rate and client is the baseline. Then the most creates and checks per second with
/// `connections` concurrent clients, and the time from a create's 201 to the simulator's
/// acceptance of its code on an idle queue.
struct VerificationBenchmark {
    let seconds: Int
    let rate: Int
    let connections: Int
    let samples: Int

    struct Latencies {
        var count: Int
        var failures: Int
        var p50: Double
        var p99: Double
        var achievedRate: Double
    }

    struct Figures {
        var healthz: Latencies
        var creates: Latencies
        var checks: Latencies
        var approved: Int
        var maxCreates: Double
        var maxChecks: Double
        var maxHealthz: Double
        var toSimulator: (p50: Double, p99: Double)
    }

    func run() async throws -> Figures {
        let stack = try await BenchmarkStack.start(name: "verify")
        defer { stack.stop() }
        let (url, simURL) = (stack.url, stack.simURL)
        let admin = try stack.apiKey("bench", scope: "admin")
        let key = try stack.apiKey("app", scope: "verifications")
        var configuration = HTTPClient.Configuration()
        configuration.maxConcurrentTransfers = max(256, connections * 2)
        configuration.maxConnectionsPerHost = max(128, connections)
        let client = HTTPClient(configuration: configuration, logger: Benchmarks.logger)
        defer { Task { await client.shutdown() } }
        @Sendable func json(_ method: Curl.HTTPRequest.Method, _ path: String, _ body: String?, key: String) -> Curl.HTTPRequest {
            var request = Curl.HTTPRequest(method: method, url: url + path, body: body.map { Array($0.utf8) } ?? [])
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            if body != nil { request.headers.add(name: "Content-Type", value: "application/json") }
            return request
        }
        try await stack.addTwilioProvider(client: client, adminKey: admin)
        // A benchmark sends many codes from one address to one number range: lift the limits
        // that would (rightly) stop it.
        let limits = try await client.send(json(.PATCH, "/v1/settings", """
            {"verification":{"per_number_per_hour":1000000,"per_ip_per_hour":1000000,"per_prefix_per_hour":1000000,\
            "per_country_per_hour":100000000,"fraud_min_sends":1000000}}
            """, key: admin))
        guard limits.status == 200 else { throw BenchmarkError("raising the limits: \(limits.status)") }

        // Baseline: /healthz at the same rate through the same client.
        let total = rate * seconds
        Benchmarks.status("verify: baseline, GET /healthz at \(rate)/s for \(seconds) s")
        let healthz = try await openLoop(count: total, rate: rate, client: client) { _ in
            (Curl.HTTPRequest(url: url + "/healthz"), 200)
        }
        Benchmarks.status("verify: /healthz p50 \(Self.ms(healthz.p50)) p99 \(Self.ms(healthz.p99))")
        @Sendable func number(_ index: Int) -> String { "+1628" + String(format: "%07d", 3_000_000 + index) }
        Benchmarks.status("verify: POST /v1/verifications at \(rate)/s for \(seconds) s (\(total) numbers)")
        let ids = Mutex<[Int: String]>([:])
        let creates = try await openLoop(count: total, rate: rate, client: client) { index in
            (json(.POST, "/v1/verifications", "{\"to\":\"\(number(index))\",\"purpose\":\"login\"}", key: key), 201)
        } onAnswer: { index, body in
            if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let id = object["id"] as? String {
                ids.withLock { $0[index] = id }
            }
        }
        Benchmarks.status("verify: creates p50 \(Self.ms(creates.p50)) p99 \(Self.ms(creates.p99)), \(creates.failures) failed")

        // Every code as the simulator received it.
        Benchmarks.status("verify: reading the codes the simulator received")
        let created = ids.withLock { $0 }
        var codes: [Int: String] = [:]
        let deadline = ContinuousClock.now + .seconds(120)
        for index in created.keys.sorted() {
            while codes[index] == nil {
                let response = try await client.send(Curl.HTTPRequest(url: simURL + "/sim/messages?to=%2B" + number(index).dropFirst()))
                let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                if let body = (object?["data"] as? [[String: Any]])?.last?["body"] as? String,
                   let range = body.range(of: #"\d{6}"#, options: .regularExpression) {
                    codes[index] = String(body[range])
                } else {
                    guard ContinuousClock.now < deadline else { throw BenchmarkError("a code never reached the simulator") }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
        Benchmarks.status("verify: POST /v1/verifications/check at \(rate)/s (\(codes.count) codes)")
        let order = codes.keys.sorted()
        let found = codes
        let approved = Atomic<Int>(0)
        let checks = try await openLoop(count: order.count, rate: rate, client: client) { n in
            let index = order[n]
            return (json(.POST, "/v1/verifications/check", "{\"id\":\"\(created[index]!)\",\"code\":\"\(found[index]!)\"}", key: key), 200)
        } onAnswer: { _, body in
            if String(decoding: body, as: UTF8.self).contains("\"valid\":true") { approved.add(1, ordering: .relaxed) }
        }
        Benchmarks.status("verify: checks p50 \(Self.ms(checks.p50)) p99 \(Self.ms(checks.p99)), \(approved.load(ordering: .relaxed)) approved")

        // The most per second with `connections` clients at once.
        Benchmarks.status("verify: closed loop, \(connections) clients: /healthz, creates, checks")
        let maxHealthz = try await closedLoop(seconds: max(3, seconds / 2), client: client) { _ in (Curl.HTTPRequest(url: url + "/healthz"), 200) }
        let base = 4_000_000
        let burstIDs = Mutex<[Int: String]>([:])
        let maxCreates = try await closedLoop(seconds: max(3, seconds / 2), client: client) { index in
            (json(.POST, "/v1/verifications", "{\"to\":\"\(number(base + index))\",\"purpose\":\"login\"}", key: key), 201)
        } onAnswer: { index, body in
            if let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let id = object["id"] as? String {
                burstIDs.withLock { $0[index] = id }
            }
        }
        // Checks of those (a wrong code: the same work of MAC and conditional update).
        let burst = burstIDs.withLock { Array($0.values) }
        let maxChecks = try await closedLoop(seconds: max(3, seconds / 2), client: client) { index in
            (json(.POST, "/v1/verifications/check", "{\"id\":\"\(burst[index % burst.count])\",\"code\":\"000000\"}", key: key), 200)
        }

        Benchmarks.status("verify: most per second: /healthz \(Benchmarks.format(maxHealthz)), creates \(Benchmarks.format(maxCreates)), checks \(Benchmarks.format(maxChecks))")

        // Create → the simulator has the code, one at a time on an idle queue.
        Benchmarks.status("verify: create → simulator, \(samples) verifications one at a time")
        try await Task.sleep(for: .seconds(3))
        var latencies: [Double] = []
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for sample in 0..<samples {
            let to = number(6_500_000 + sample)
            let response = try await client.send(json(.POST, "/v1/verifications", "{\"to\":\"\(to)\",\"purpose\":\"login\"}", key: key))
            let answered = Date().timeIntervalSince1970
            guard response.status == 201 else { throw BenchmarkError("a sample got \(response.status)") }
            let limit = ContinuousClock.now + .seconds(30)
            while true {
                let found = try await client.send(Curl.HTTPRequest(url: simURL + "/sim/messages?to=%2B" + to.dropFirst()))
                let object = try JSONSerialization.jsonObject(with: Data(found.body)) as? [String: Any]
                if let received = (object?["data"] as? [[String: Any]])?.first?["received_at"] as? String,
                   let date = formatter.date(from: received) {
                    latencies.append(max(0, date.timeIntervalSince1970 - answered) * 1000)
                    break
                }
                guard ContinuousClock.now < limit else { throw BenchmarkError("a sample never reached the simulator") }
                try await Task.sleep(for: .milliseconds(2))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        latencies.sort()
        return Figures(healthz: healthz, creates: creates, checks: checks, approved: approved.load(ordering: .relaxed),
                       maxCreates: maxCreates, maxChecks: maxChecks, maxHealthz: maxHealthz,
                       toSimulator: (latencies[latencies.count / 2], latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))]))
    }

    /// Numbers `+1628` + seven digits: `index` below 7,000,000.
    /// `count` requests at `rate` per second, each sent at its scheduled time whether or not the
    /// earlier ones were answered; latency from the scheduled time.
    func openLoop(
        count: Int, rate: Int, client http: HTTPClient,
        _ make: @escaping @Sendable (Int) -> (Curl.HTTPRequest, Int),
        onAnswer: @escaping @Sendable (Int, [UInt8]) -> Void = { _, _ in }
    ) async throws -> Latencies {
        let start = ContinuousClock.now
        let results = try await withThrowingTaskGroup(of: (Double, Bool).self) { group in
            for index in 0..<count {
                let scheduled = start + .microseconds(Int64(index) * 1_000_000 / Int64(rate))
                try await Task.sleep(until: scheduled, clock: .continuous)
                group.addTask {
                    let (request, expected) = make(index)
                    let response = try? await http.send(request)
                    let ok = response?.status == expected
                    if ok, let response { onAnswer(index, response.body) }
                    return ((ContinuousClock.now - scheduled).seconds * 1000, ok)
                }
            }
            var all: [(Double, Bool)] = []
            for try await result in group { all.append(result) }
            return all
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let latencies = results.map(\.0).sorted()
        return Latencies(count: count, failures: results.filter { !$0.1 }.count, p50: latencies[latencies.count / 2],
                         p99: latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))],
                         achievedRate: Double(count) / elapsed)
    }

    /// `connections` clients, each sending its next request when the last is answered; answers per second.
    func closedLoop(
        seconds: Int, client: HTTPClient, _ make: @escaping @Sendable (Int) -> (Curl.HTTPRequest, Int),
        onAnswer: @escaping @Sendable (Int, [UInt8]) -> Void = { _, _ in }
    ) async throws -> Double {
        final class Counts: Sendable {
            let next = Atomic<Int>(0)
            let answered = Atomic<Int>(0)
        }
        let counts = Counts()
        let start = ContinuousClock.now
        let end = start + .seconds(seconds)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<connections {
                group.addTask {
                    while ContinuousClock.now < end {
                        let index = counts.next.add(1, ordering: .relaxed).newValue - 1
                        let (request, expected) = make(index)
                        if let response = try? await client.send(request), response.status == expected {
                            counts.answered.add(1, ordering: .relaxed)
                            onAnswer(index, response.body)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(counts.answered.load(ordering: .relaxed)) / (ContinuousClock.now - start).seconds
    }

    static func ms(_ value: Double) -> String { String(format: value < 10 ? "%.2f ms" : "%.1f ms", value) }

    func report(_ f: Figures) -> String {
        func n(_ value: Double) -> String { Benchmarks.format(value) }
        func mark(_ ok: Bool) -> String { ok ? "✓" : "✗" }
        let date = ISO8601DateFormatter().string(from: Date()).prefix(10)
        return """
            Latest run: \(date), `herald-bench verify --seconds \(seconds) --rate \(rate) --connections \(connections) --samples \(samples)`, release build, 2 cores. **PostgreSQL: the embedded cluster with its default, durable settings (fsync on, synchronous_commit on)** — checked by the benchmark. The simulator is the Twilio provider; every code is sent and checked with the code the simulator received. Open loop: each request leaves at its scheduled time and its latency counts from then.

            | measure | Herald | baseline (same run, same client) | target |
            |---|---|---|---|
            | `POST /v1/verifications` at \(rate)/s, p50 / p99 | \(Self.ms(f.creates.p50)) / \(Self.ms(f.creates.p99)) (\(f.creates.failures) of \(f.creates.count) failed) | `GET /healthz` at \(rate)/s: \(Self.ms(f.healthz.p50)) / \(Self.ms(f.healthz.p99)) | p99 < 20 ms \(mark(f.creates.p99 < 20 && f.creates.failures == 0)) |
            | `POST /v1/verifications/check` at \(rate)/s, p50 / p99 | \(Self.ms(f.checks.p50)) / \(Self.ms(f.checks.p99)) (\(f.approved) of \(f.checks.count) approved) | | |
            | most creates per second, \(connections) clients | \(n(f.maxCreates))/s | `/healthz`: \(n(f.maxHealthz))/s (\(String(format: "%.1f %%", f.maxCreates / f.maxHealthz * 100))) | |
            | most checks per second, \(connections) clients | \(n(f.maxChecks))/s | | |
            | create's 201 → the simulator has the code, idle queue, p50 / p99 | \(Self.ms(f.toSimulator.p50)) / \(Self.ms(f.toSimulator.p99)) | | p99 < 50 ms \(mark(f.toSimulator.p99 < 50)) |
            """
    }

    static let beginMarker = "<!-- verify:begin (written by herald-bench verify) -->"
    static let endMarker = "<!-- verify:end -->"

    func write(_ report: String, to path: String) throws {
        try Benchmarks.writeSection(report, begin: Self.beginMarker, end: Self.endMarker,
                                    heading: "## Verification codes (durable PostgreSQL)", to: path)
        Benchmarks.status("verify: written to \(path)")
    }

}
