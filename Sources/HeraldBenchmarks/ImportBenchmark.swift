import Curl
import Foundation
import Herald
import Postgres

/// `herald-bench import`: `herald contacts import` of a CSV file (release binary, the embedded
/// cluster with durable defaults, a contacts table with its indexes and the consent ledger) beside
/// `psql \copy` of the same file into a plain table on the same cluster, in the same run.
struct ImportBenchmark {
    let rows: Int

    static let beginMarker = "<!-- import:begin -->"
    static let endMarker = "<!-- import:end -->"

    struct Figures {
        var rows: Int
        var psqlSeconds: Double
        var heraldSeconds: Double
        var reimportSeconds: Double
        var summary: String
        /// POST /v1/segments/preview of a three-condition rule over the imported contacts: each run, in ms.
        var segmentMilliseconds: [Double]
        var segmentCount: Int
    }

    /// Tags, an attribute and a time: the shape of the target's "three conditions".
    static let segmentRule = #"""
        {"rule": {"all": [{"field": "tags", "op": "has", "value": "vip"},
                          {"field": "attributes.plan", "op": "eq", "value": "pro"},
                          {"field": "created_at", "op": "within_days", "value": 30}]}}
        """#

    /// A file like a marketer's export: number, names, locale, zone, tags and two attributes.
    func writeFile(_ path: String) throws {
        Benchmarks.status("import: writing \(rows) CSV rows")
        var text = "phone,first_name,last_name,locale,timezone,tags,plan,orders\n"
        text.reserveCapacity(rows * 90)
        for index in 0..<rows {
            text += "+1415\(String(format: "%07d", 2_000_000 + index % 8_000_000)),First\(index),Last\(index),en-US,America/Los_Angeles,"
            text += (index % 10 == 0 ? "vip;news" : "news") + "," + (index % 3 == 0 ? "pro" : "free") + ",\(index % 50)\n"
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
    }

    func run() async throws -> Figures {
        let stack = try await BenchmarkStack.start(name: "import")
        defer { stack.stop() }
        let file = "/tmp/herald-bench-import-\(UUID().uuidString.prefix(8)).csv"
        try writeFile(file)
        defer { try? FileManager.default.removeItem(atPath: file) }

        try await stack.pool.query(
            "CREATE TABLE bench_psql (phone text, first_name text, last_name text, locale text, timezone text, tags text, plan text, orders text)")
        Benchmarks.status("import: psql \\copy of the same file")
        let psqlStart = ContinuousClock.now
        _ = try Benchmarks.run("psql", ["-q", "-h", stack.embedded.server.socketDirectory, "-U", "postgres", "-d", EmbeddedDatabase.databaseName,
                                        "-c", "\\copy bench_psql FROM '\(file)' WITH (FORMAT csv, HEADER)"])
        let psqlSeconds = (ContinuousClock.now - psqlStart).seconds

        Benchmarks.status("import: herald contacts import")
        let start = ContinuousClock.now
        let summary = try EndToEndBenchmark.capture(stack.herald, ["contacts", "import", file], environment: stack.environment)
        let heraldSeconds = (ContinuousClock.now - start).seconds
        Benchmarks.status("import: the same file again (nothing changes)")
        let again = ContinuousClock.now
        _ = try EndToEndBenchmark.capture(stack.herald, ["contacts", "import", file], environment: stack.environment)
        let reimportSeconds = (ContinuousClock.now - again).seconds
        let imported = try await stack.pool.query("SELECT count(*)::int8 FROM contacts")[0].decode(0, as: Int64.self)
        guard imported == Int64(rows) else { throw BenchmarkError("imported \(imported) contacts, expected \(rows)") }

        // A segment's live count over them, through the API as the dashboard asks for it.
        Benchmarks.status("import: a three-condition segment preview over \(rows) contacts")
        try await stack.pool.query("ANALYZE contacts")
        let key = try stack.apiKey("bench", scope: "campaigns")
        let client = HTTPClient(logger: Benchmarks.logger)
        var timings: [Double] = []
        var count = 0
        for _ in 0..<6 {
            var request = Curl.HTTPRequest(method: .POST, url: stack.url + "/v1/segments/preview", body: Array(Self.segmentRule.utf8),
                                           timeout: .seconds(60))
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            request.headers.add(name: "Content-Type", value: "application/json")
            let started = ContinuousClock.now
            let response = try await client.send(request)
            timings.append((ContinuousClock.now - started).seconds * 1000)
            guard response.status == 200,
                let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], let matched = object["count"] as? Int
            else { throw BenchmarkError("segment preview answered \(response.status)") }
            count = matched
        }
        await client.shutdown()
        return Figures(rows: rows, psqlSeconds: psqlSeconds, heraldSeconds: heraldSeconds, reimportSeconds: reimportSeconds,
                       summary: summary.split(separator: "\n").first.map(String.init) ?? summary,
                       segmentMilliseconds: Array(timings.dropFirst()), segmentCount: count)
    }

    func report(_ f: Figures) -> String {
        func n(_ value: Double) -> String { Benchmarks.format(value) }
        let rate = Double(f.rows) / f.heraldSeconds
        let sorted = f.segmentMilliseconds.sorted()
        let median = sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        let worst = sorted.last ?? 0
        let baseline = Double(f.rows) / f.psqlSeconds
        return """
            Measured \(ISO8601DateFormatter().string(from: Date())) by `herald-bench import --rows \(f.rows)`: the release
            `herald contacts import` on the embedded cluster with durable defaults (fsync, synchronous commit), into
            `contacts` with its indexes and a consent-ledger entry per new contact, beside `psql \\copy` of the same
            file into a plain table without indexes on the same cluster.

            | what | Herald | baseline | ratio | target |
            |---|---|---|---|---|
            | import of \(n(Double(f.rows))) new contacts, CSV → checked → COPY → merge | \(n(rate)) rows/s (\(String(format: "%.1f", f.heraldSeconds)) s) | psql \\copy \(n(baseline)) rows/s (\(String(format: "%.1f", f.psqlSeconds)) s) | \(String(format: "%.1f", rate / baseline * 100)) % | ≥ 100,000 rows/s \(rate >= 100_000 ? "✓" : "✗") |
            | the same file again (nothing changes) | \(n(Double(f.rows) / f.reimportSeconds)) rows/s (\(String(format: "%.1f", f.reimportSeconds)) s) | | | |
            | segment preview (tags has vip, attributes.plan eq pro, created within 30 days) over \(n(Double(f.rows))) contacts → \(n(Double(f.segmentCount))) | median \(String(format: "%.0f", median)) ms, worst \(String(format: "%.0f", worst)) ms (5 runs after a warm-up, HTTP included) | | | < 500 ms \(worst < 500 ? "✓" : "✗") |

            `\(f.summary)`
            """
    }

    func write(_ report: String, to path: String) throws {
        try Benchmarks.writeSection(report, begin: Self.beginMarker, end: Self.endMarker, heading: "## Contact import (durable PostgreSQL)", to: path)
        Benchmarks.status("import: written to \(path)")
    }
}
