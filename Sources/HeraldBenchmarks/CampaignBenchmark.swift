import Curl
import Foundation
import Herald
import Postgres

/// `herald-bench campaign`: a campaign to `recipients` contacts through the release `herald serve`
/// (embedded cluster, durable defaults) and `herald provider-sim` as a Twilio provider (receipts
/// off, as in the dispatch benchmark), beside the raw `Curl` → simulator rate measured first in the same run. Measures the
/// launch (the audience frozen by one statement), the dispatch end to end (launch → every message
/// submitted and recorded), a transactional message's latency to the simulator while the campaign
/// sends, and Herald's peak RSS.
struct CampaignBenchmark {
    let recipients: Int
    let samples: Int

    static let beginMarker = "<!-- campaign:begin -->"
    static let endMarker = "<!-- campaign:end -->"

    struct Figures {
        var recipients: Int
        var baseline: Double
        var launchSeconds: Double
        var dispatchSeconds: Double
        var latency: (p50: Double, p99: Double)
        var rssMiB: Double
        var accepted: Int
        var duplicates: Int
    }

    func post(_ client: HTTPClient, _ url: String, key: String, _ body: String?, timeout: Duration = .seconds(30)) async throws -> [String: Any] {
        var request = Curl.HTTPRequest(method: .POST, url: url, body: body.map { Array($0.utf8) } ?? [], timeout: timeout)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if body != nil { request.headers.add(name: "Content-Type", value: "application/json") }
        let response = try await client.send(request)
        guard (200..<300).contains(response.status) else {
            throw BenchmarkError("POST \(url): \(response.status) \(String(decoding: response.body, as: UTF8.self).prefix(300))")
        }
        return try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] ?? [:]
    }

    func run() async throws -> Figures {
        // Receipts off, as in the dispatch benchmark: the figure is submission and its record.
        let stack = try await BenchmarkStack.start(name: "campaign", receipts: false)
        defer { stack.stop() }
        let key = try stack.apiKey("bench", scope: "admin")
        let client = HTTPClient(logger: Benchmarks.logger)
        defer { Task { await client.shutdown() } }
        try await stack.addTwilioProvider(client: client, adminKey: key)

        let baselineMessages = min(recipients, 200_000)
        Benchmarks.status("campaign: baseline, \(baselineMessages) raw Twilio requests through Curl to the simulator")
        let baseline = try await Benchmarks.rawCurlRate(simURL: stack.simURL, messages: baselineMessages, window: 512, callbacks: false)
        Benchmarks.status("campaign: baseline \(Benchmarks.format(baseline)) req/s")
        _ = try await client.send(Curl.HTTPRequest(method: .DELETE, url: stack.simURL + "/sim/messages"))

        Benchmarks.status("campaign: \(recipients) contacts")
        try await stack.pool.query(
            """
            INSERT INTO contacts (phone, country, line_type, tags, first_name)
            SELECT '+1415' || (2000000 + g)::text, 'US', 'fixed_line_or_mobile', '{bench}', 'Fan' || g
            FROM generate_series(0, \(recipients - 1)) g
            """)
        try await stack.pool.query("ANALYZE contacts")
        let template = try await post(client, stack.url + "/v1/templates", key: key,
                                      #"{"name": "bench_sale", "kind": "marketing", "body": "Hi {{first_name}}, the winter sale starts now"}"#)
        let campaign = try await post(client, stack.url + "/v1/campaigns", key: key, """
            {"name": "Bench", "template_id": "\(template["id"] as? String ?? "")", "quiet_hours": null, "frequency_cap": null}
            """)
        let id = campaign["id"] as? String ?? ""

        Benchmarks.status("campaign: POST /send (the audience frozen by one INSERT … SELECT)")
        let start = ContinuousClock.now
        let sent = try await post(client, stack.url + "/v1/campaigns/\(id)/send", key: key, nil, timeout: .seconds(600))
        let launchSeconds = (ContinuousClock.now - start).seconds
        let frozen = (sent["stats"] as? [String: Any])?["recipients"] as? Int ?? 0
        guard frozen == recipients else { throw BenchmarkError("froze \(frozen) recipients, expected \(recipients)") }
        Benchmarks.status("campaign: launched in \(String(format: "%.2f", launchSeconds)) s")

        // A transactional message's way to the simulator while the campaign sends.
        let probe = EndToEndBenchmark(seconds: 0, connections: 0, backlog: 0, samples: samples)
        let (url, simURL) = (stack.url, stack.simURL)
        async let latency = probe.latencies(client: client, url: url, key: key, simURL: simURL, tag: "campaign")
        var lastReport = ContinuousClock.now
        var lastDone = 0
        while true {
            try await Task.sleep(for: .milliseconds(250))
            let rows = try await stack.pool.query("SELECT status FROM campaigns WHERE id = \(UUID(uuidString: id))")
            if try rows.first?.decode(0, as: String.self) == "completed" { break }
            if ContinuousClock.now - lastReport >= .seconds(5) {
                let done = try await EndToEndBenchmark.count(
                    stack.pool, "SELECT count(*)::int8 FROM messages WHERE campaign_id = \(UUID(uuidString: id)) AND status IN ('sent', 'delivered')")
                Benchmarks.status("campaign: \(done) sent, \(Benchmarks.format(Double(done - lastDone) / (ContinuousClock.now - lastReport).seconds)) msg/s")
                lastDone = done
                lastReport = ContinuousClock.now
            }
        }
        let dispatchSeconds = (ContinuousClock.now - start).seconds
        let latencies = try await latency
        let rss = try EndToEndBenchmark.peakRSSMiB(stack.server.processIdentifier)
        let stats = try JSONSerialization.jsonObject(with: Data(try await client.send(Curl.HTTPRequest(url: stack.simURL + "/sim/stats")).body)) as? [String: Any]
        let recorded = try await EndToEndBenchmark.count(
            stack.pool, "SELECT count(*)::int8 FROM messages WHERE campaign_id = \(UUID(uuidString: id)) AND status IN ('sent', 'delivered')")
        guard recorded == recipients else { throw BenchmarkError("\(recorded) of \(recipients) campaign messages recorded as sent") }
        stack.stopServer()
        return Figures(recipients: recipients, baseline: baseline, launchSeconds: launchSeconds, dispatchSeconds: dispatchSeconds,
                       latency: latencies, rssMiB: rss, accepted: stats?["accepted"] as? Int ?? -1, duplicates: stats?["duplicates"] as? Int ?? -1)
    }

    func report(_ f: Figures) -> String {
        func n(_ value: Double) -> String { Benchmarks.format(value) }
        func mark(_ ok: Bool) -> String { ok ? "✓" : "✗" }
        let rate = Double(f.recipients) / f.dispatchSeconds
        return """
            Measured \(ISO8601DateFormatter().string(from: Date())) by `herald-bench campaign --recipients \(f.recipients)`: the release
            `herald serve` on its embedded cluster with durable defaults (fsync, synchronous commit), `herald provider-sim` as a Twilio
            provider (receipts off, as in the dispatch benchmark), a marketing template rendered per contact, no quiet hours or cap; baseline: the `Curl`
            client alone posting Twilio requests to the same simulator, 512 in flight, in the same run.

            | what | Herald | baseline | ratio | target |
            |---|---|---|---|---|
            | launch: \(n(Double(f.recipients))) recipients frozen (`POST /send`, one `INSERT … SELECT`) | \(String(format: "%.2f", f.launchSeconds)) s | | | < 10 s \(mark(f.launchSeconds < 10)) |
            | campaign of \(n(Double(f.recipients))) end to end (launch → every message submitted and recorded) | \(n(rate)) msg/s (\(String(format: "%.0f", f.dispatchSeconds)) s) | raw Curl → simulator \(n(f.baseline)) req/s | \(String(format: "%.0f", rate / f.baseline * 100)) % | ≥ 50 % and ≥ 5,000 msg/s \(mark(rate / f.baseline >= 0.5 && rate >= 5000)) |
            | a transactional message during it, 202 → simulator (\(samples) samples) | p50 \(String(format: "%.0f", f.latency.p50)) ms, p99 \(String(format: "%.0f", f.latency.p99)) ms | | | p99 < 1 s \(mark(f.latency.p99 < 1000)) |
            | Herald's peak RSS | \(String(format: "%.0f", f.rssMiB)) MiB | | | < 300 MB \(mark(f.rssMiB * 1.048576 < 300)) |

            The simulator accepted \(n(Double(f.accepted))) requests (\(f.duplicates) duplicates).
            """
    }

    func write(_ report: String, to path: String) throws {
        try Benchmarks.writeSection(report, begin: Self.beginMarker, end: Self.endMarker, heading: "## Campaigns (durable PostgreSQL)", to: path)
        Benchmarks.status("campaign: written to \(path)")
    }
}
