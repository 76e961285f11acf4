import Curl
import Foundation
import Herald
import Logging
import Postgres
import PostgresTestSupport
import Providers

extension Benchmarks {
    /// Herald's dispatcher draining `messages` queued messages to `herald provider-sim`
    /// (as a Twilio provider), beside the raw baseline: the `Curl` client alone posting the
    /// same number of Twilio-format requests to the same simulator, with the same number
    /// in flight. Both run in this invocation against one simulator process.
    static func dispatchVersusCurl(messages: Int, durable: Bool) async throws -> Result {
        let window = 512
        let port = try freePort()
        let sim = Process()
        sim.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("herald")
        sim.arguments = ["provider-sim", "--port", String(port), "--auth-token", "bench-token", "--no-receipts"]
        sim.standardOutput = FileHandle.nullDevice
        try sim.run()
        defer { sim.terminate() }
        let simURL = "http://127.0.0.1:\(port)"
        try await waitForHTTP(simURL + "/sim/stats")

        // Baseline: raw Curl → simulator, `window` requests in flight.
        status("dispatch: baseline, \(messages) raw Twilio requests through Curl")
        let baseline = try await rawCurlRate(simURL: simURL, messages: messages, window: window)
        _ = try? await HTTPClient(logger: logger).send(Curl.HTTPRequest(method: .DELETE, url: simURL + "/sim/messages"))

        // Herald: a private cluster, the real migrations, a Twilio provider pointing at the
        // simulator, `messages` rows queued, and the dispatcher draining them.
        status("dispatch: Herald, \(messages) queued messages through the dispatcher (\(durable ? "durable" : "fsync off"))")
        let cluster = try await TestCluster.makePrivate(durable: durable)
        let database = try await cluster.createDatabase()
        let pool = PostgresPool(configuration: database, maxConnections: 8, logger: logger)
        let resources = try ResourceLocator.locate(explicit: nil)
        try await Migrator(directory: resources + "/migrations", logger: logger).migrate(pool)
        var dispatcher = try DispatcherConfiguration.fromEnvironment()
        // The default window (claimed, not yet recorded); its HTTP concurrency is capped like the baseline's.
        dispatcher.window = Int(ProcessInfo.processInfo.environment["BENCH_WINDOW"] ?? "") ?? dispatcher.window
        var heraldConfiguration = HeraldConfiguration(port: 0, allowPrivateNetworks: true)  // the simulator is on loopback
        heraldConfiguration.publicURL = "http://127.0.0.1:9"
        heraldConfiguration.databasePoolSize = 8
        var options = HeraldCore.Options()
        options.dispatcher = dispatcher
        let core = try HeraldCore(configuration: heraldConfiguration, database: database, secret: ServerSecret("benchmark-secret-0123456789"),
                              resourceDirectory: resources, options: options, logger: logger)
        _ = try await core.providers.create(ProviderInput(
            name: "sim", type: "twilio",
            config: ["account_sid": .string(BenchmarkStack.sid), "auth_token": .string("bench-token"), "from": .string("+15005550006"),
                     "base_url": .string(simURL)]))
        try await pool.query(
            """
            INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
            SELECT '+1415555' || lpad((i % 10000)::text, 4, '0'), 'US', 'bench ' || i, 'sms', 'transactional', 0, 'queued', 'GSM-7', 1, 10
            FROM generate_series(1, \(messages)) AS i
            """)
        try await pool.query("ANALYZE messages")
        let dispatcherService = core.workers.dispatcher
        let start = ContinuousClock.now
        var elapsed = Duration.zero
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await dispatcherService.run() }
            var lastReport = ContinuousClock.now
            var lastSent: Int64 = 0
            while true {
                try await Task.sleep(for: .milliseconds(200))
                // Counts what is left through the queue's two partial indexes (one equality each,
                // so the planner uses them): watching must not cost the database a table scan.
                let rows = try await pool.query(
                    """
                    SELECT (SELECT count(*) FROM messages WHERE status = 'queued')
                         + (SELECT count(*) FROM messages WHERE status = 'sending')
                    """)
                let sent = Int64(messages) - (try rows[0].decode(0, as: Int64.self))
                if ContinuousClock.now - lastReport >= .seconds(5) {
                    let rate = Double(sent - lastSent) / (ContinuousClock.now - lastReport).seconds
                    status("dispatch: \(sent) sent, \(format(rate)) msg/s over the last 5 s")
                    lastReport = ContinuousClock.now
                    lastSent = sent
                }
                if sent >= messages {
                    elapsed = ContinuousClock.now - start
                    break
                }
            }
            group.cancelAll()
        }
        // Every message must have been recorded as sent (none failed or lost).
        let sentRows = try await pool.query("SELECT count(*)::int8 FROM messages WHERE status = 'sent'")
        guard try sentRows[0].decode(0, as: Int64.self) == messages else { throw BenchmarkError("not every message ended sent") }
        let herald = Double(messages) / elapsed.seconds
        await core.close()
        await pool.close()
        try await cluster.stop()
        let settings = durable ? "durable PostgreSQL (fsync, synchronous_commit on)" : "PostgreSQL fsync off"
        return Result(name: "dispatch \(format(Double(messages))) queued messages → provider-sim (Twilio), submitted and recorded; \(settings)",
                      unit: "msg/s", herald: herald, baselineName: "raw Curl → provider-sim", baseline: baseline, target: 0.5)
    }

    /// The raw baseline: the `Curl` client alone posting `messages` Twilio-format requests to the
    /// simulator at `simURL`, `window` in flight; requests per second.
    /// `callbacks`: ask for receipts (to a closed port) as Herald's requests do; off where the
    /// simulator sends receipts, so none are retried into the measurement that follows.
    static func rawCurlRate(simURL: String, messages: Int, window: Int, callbacks: Bool = true) async throws -> Double {
        let sid = BenchmarkStack.sid
        var configuration = HTTPClient.Configuration()
        configuration.maxConcurrentTransfers = window
        configuration.maxConnectionsPerHost = window
        let client = HTTPClient(configuration: configuration, logger: logger)
        let url = simURL + "/2010-04-01/Accounts/\(sid)/Messages.json"
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            let perTask = messages / window
            for task in 0..<window {
                group.addTask(executorPreference: client.executor) {
                    for index in 0..<(perTask + (task < messages % window ? 1 : 0)) {
                        var fields = [
                            ("To", "+1415555\(String(format: "%04d", index % 10000))"), ("From", "+15005550006"),
                            ("Body", "baseline \(task)-\(index)"),
                        ]
                        if callbacks { fields.append(("StatusCallback", "http://127.0.0.1:9/webhooks/x/status?m=\(UUID().uuidString.lowercased())")) }
                        let body = FormEncoding.encode(fields)
                        var request = Curl.HTTPRequest(method: .POST, url: url, body: Array(body.utf8))
                        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                        request.basicAuth = (username: sid, password: BenchmarkStack.token)
                        let response = try await client.send(request)
                        guard response.status == 201 else { throw BenchmarkError("simulator answered \(response.status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let rate = Double(messages) / (ContinuousClock.now - start).seconds
        await client.shutdown()
        return rate
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func waitForHTTP(_ url: String) async throws {
        let client = HTTPClient(logger: logger)
        defer { Task { await client.shutdown() } }
        for _ in 0..<100 {
            if let response = try? await client.send(Curl.HTTPRequest(url: url, timeout: .seconds(1))), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchmarkError("\(url) did not answer")
    }
}
