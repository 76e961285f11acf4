import Foundation
import Herald
import Postgres
import Providers
import SMS
import Synchronization
import Testing
@testable import Herald

/// The dispatcher against scripted providers on real loopback HTTP.
@Suite(.serialized) struct DispatcherTests {
    static var fast: DispatcherConfiguration {
        var configuration = DispatcherConfiguration()
        configuration.backoff = Backoff(base: .milliseconds(100), cap: .milliseconds(400))
        configuration.providerTimeout = .seconds(2)
        configuration.idlePoll = .milliseconds(20)
        return configuration
    }

    func httpProvider(_ herald: TestHerald, name: String, url: String, priority: Int = 10, rate: Int? = nil) async throws -> Provider {
        try await herald.core.providers.create(ProviderInput(
            name: name, type: "http", config: ["url": .string(url), "id_path": .string("id")], priority: priority,
            ratePerSecond: rate.map { .some($0) } ?? nil))
    }

    func queue(_ herald: TestHerald, _ bodies: [String], to: String = "+14155550100") async throws -> [UUID] {
        var ids: [UUID] = []
        for body in bodies {
            ids.append(try await herald.core.messages.send(SendMessageRequest(to: to, body: body), apiKeyID: nil).id)
        }
        return ids
    }

    func statuses(_ herald: TestHerald) async throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try await herald.pool.query("SELECT status, count(*)::int FROM messages GROUP BY status") {
            result[try row.decode(0, as: String.self)] = try row.decode(1, as: Int.self)
        }
        return result
    }

    @Test("a failing provider fails over to the next by priority")
    func failover() async throws {
        try await TestHerald.with(dispatcher: Self.fast) { herald in
            try await ScriptedProvider.run(answer: { path, _, _ in
                path == "/down" ? .init(status: 503, body: "{}") : .init(status: 200, body: #"{"id":"ok-1"}"#)
            }) { server in
                _ = try await httpProvider(herald, name: "primary", url: server.baseURL + "/down", priority: 1)
                let backup = try await httpProvider(herald, name: "backup", url: server.baseURL + "/up", priority: 2)
                let id = try await queue(herald, ["hello"])[0]
                try await dispatchUntil(herald) { try await herald.message(id)?.status == .sent }
                let message = try #require(try await herald.message(id))
                #expect(message.status == .sent)
                #expect(message.providerID == backup.id)
                #expect(message.providerMessageID == "ok-1")
                #expect(message.attempts == 1)
                #expect(server.requests.map(\.path) == ["/down", "/up"])
            }
        }
    }

    @Test("a 429 with Retry-After is retried no sooner than asked (on the clock), then sent")
    func retryAfter() async throws {
        try await TestHerald.with(dispatcher: Self.fast) { herald in
            try await ScriptedProvider.run(answer: { _, _, count in
                count == 1 ? .init(status: 429, headers: ["Retry-After": "600"], body: "{}") : .init(status: 200, body: #"{"id":"late"}"#)
            }) { server in
                _ = try await httpProvider(herald, name: "busy", url: server.baseURL + "/send")
                let id = try await queue(herald, ["patience"])[0]
                let refusedAt = herald.clock.now
                try await dispatchUntil(herald) {
                    guard let message = try await herald.message(id) else { return false }
                    return message.status == .queued && message.attempts == 1
                }
                let waiting = try #require(try await herald.message(id))
                // Due no sooner than the provider asked (the jittered backoff may add to it).
                #expect(waiting.scheduledAt.timeIntervalSince(refusedAt) >= 600)
                // While the clock has not reached it, nothing is sent again.
                try await runWorkers(herald, for: .milliseconds(300))
                #expect(server.requests.count == 1)
                // Ten minutes later (on the clock, not the wall), it goes.
                herald.clock.advance(by: .seconds(Int64(waiting.scheduledAt.timeIntervalSince(herald.clock.now)) + 1))
                try await dispatchUntil(herald) { try await herald.message(id)?.status == .sent }
                #expect(server.requests.count == 2)
                let message = try #require(try await herald.message(id))
                #expect(message.status == .sent && message.attempts == 2 && message.error == nil)
            }
        }
    }

    @Test("a permanent error about the recipient fails at once with the provider's code kept")
    func permanentFailure() async throws {
        try await TestHerald.with(dispatcher: Self.fast) { herald in
            try await ScriptedProvider.run(answer: { _, _, _ in
                .init(status: 400, body: #"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#)
            }) { server in
                _ = try await herald.core.providers.create(ProviderInput(
                    name: "tw", type: "twilio",
                    config: ["account_sid": .string("AC" + String(repeating: "a", count: 32)), "auth_token": .string("t"),
                             "from": .string("+15005550006"), "base_url": .string(server.baseURL)]))
                let id = try await queue(herald, ["nope"])[0]
                try await dispatchUntil(herald) { try await herald.message(id)?.status == .failed }
                let message = try #require(try await herald.message(id))
                #expect(message.status == .failed)
                #expect(message.error?.code == "invalid_number")
                #expect(message.error?.providerCode == "21211")
                #expect(message.attempts == 1)
                #expect(server.requests.count == 1)
                #expect(server.requests.first?.path == "/2010-04-01/Accounts/AC\(String(repeating: "a", count: 32))/Messages.json")
            }
        }
    }

    @Test("two dispatchers on one database send every message exactly once")
    func noDoubleClaims() async throws {
        // A timed-out request may be retried and so legitimately duplicate; on a loaded machine
        // the fast two-second timeout can pass, so this test gives requests all the time they need.
        let patient = { var configuration = Self.fast; configuration.providerTimeout = .seconds(60); return configuration }()
        try await TestHerald.with(dispatcher: patient) { herald in
            try await ScriptedProvider.run(answer: { _, _, count in .init(status: 200, body: #"{"id":"m\#(count)"}"#) }) { server in
                _ = try await httpProvider(herald, name: "fast", url: server.baseURL + "/send")
                try await herald.pool.query(
                    """
                    INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
                    SELECT '+14155550100', 'US', 'bulk ' || i, 'sms', 'transactional', 0, 'queued', 'GSM-7', 1, 8
                    FROM generate_series(1, 2000) AS i
                    """)
                // A second process: another Herald on the same database, sharing the clock.
                var options = HeraldCore.Options()
                options.dispatcher = patient
                options.clock = herald.clock
                var configuration = herald.core.configuration
                configuration.databasePoolSize = 4
                let second = try HeraldCore(configuration: configuration, database: herald.database,
                                        secret: ServerSecret(testSecret), resourceDirectory: repositoryRoot, options: options,
                                        logger: testLogger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await second.workers.dispatcher.run() }
                    try await dispatchUntil(herald) { try await statuses(herald)["sent"] == 2000 }
                    group.cancelAll()
                }
                await second.close()
                let bodies = server.requests.map(\.body)
                #expect(bodies.count == 2000)
                #expect(Set(bodies).count == 2000)
            }
        }
    }

    @Test("a message whose lease expired (its process died) is requeued and sent; a live lease is left alone")
    func expiredLease() async throws {
        try await TestHerald.with(dispatcher: Self.fast) { herald in
            try await ScriptedProvider.run(answer: { _, _, _ in .init(status: 200, body: #"{"id":"again"}"#) }) { server in
                _ = try await httpProvider(herald, name: "p", url: server.baseURL + "/send")
                let id = try await queue(herald, ["orphan"])[0]
                // Claimed by a dispatcher that then died: its lease runs for another minute.
                let leaseUntil = herald.clock.now.addingTimeInterval(60)
                try await herald.pool.query(
                    "UPDATE messages SET status = 'sending', attempts = 1, lease_until = \(leaseUntil) WHERE id = \(id)")
                #expect(await herald.core.workers.leaseReaper.reap() == 0)
                try await runWorkers(herald, for: .milliseconds(300))
                #expect(try await herald.message(id)?.status == .sending)
                herald.clock.advance(by: .seconds(61))
                #expect(await herald.core.workers.leaseReaper.reap() == 1)
                try await dispatchUntil(herald) { try await herald.message(id)?.status == .sent }
                #expect(try await herald.message(id)?.attempts == 2)
                #expect(server.requests.count == 1)
            }
        }
    }

    @Test("a provider's rate limit holds: no second carries more than rate_per_second")
    func rateLimit() async throws {
        // Timed at the provider by the wall clock: not beside the tests that load both cores.
        try await heavy { try await TestHerald.with(dispatcher: Self.fast) { herald in
            try await ScriptedProvider.run(answer: { _, _, count in .init(status: 200, body: #"{"id":"r\#(count)"}"#) }) { server in
                _ = try await httpProvider(herald, name: "slow", url: server.baseURL + "/send", rate: 5)
                _ = try await queue(herald, (1...15).map { "limited \($0)" })
                let start = ContinuousClock.now
                try await dispatchUntil(herald) { try await statuses(herald)["sent"] == 15 }
                // Fifteen at five a second need three one-second windows: more than one second.
                #expect(ContinuousClock.now - start > .seconds(1))
                let seen = server.requests
                #expect(seen.count == 15)
                // Per wall-clock second (the limiter's window, shared by every process), at most five.
                var perWindow: [Int: Int] = [:]
                for request in seen { perWindow[Int(request.wall.timeIntervalSince1970), default: 0] += 1 }
                #expect(perWindow.values.allSatisfy { $0 <= 5 }, "\(perWindow)")
                #expect(perWindow.count >= 3)
                let attempts = try await herald.pool.query("SELECT max(attempts)::int FROM messages")
                #expect(try attempts[0].decode(0, as: Int.self) == 1, "deferrals by the limiter are not attempts")
            }
        } }
    }
}

@Suite(.serialized) struct DispatcherEventTests {
    @Test("a marketing message whose recipient opts out after queueing is cancelled, never sent")
    func optOutAfterQueueing() async throws {
        try await TestHerald.with(dispatcher: DispatcherTests.fast) { herald in
            // Whatever the time of day in California, the message is due at once.
            _ = try await herald.core.settings.update(["quiet_hours": .null], actor: "test")
            try await ScriptedProvider.run(answer: { _, _, _ in .init(status: 200, body: #"{"id":"x"}"#) }) { server in
                _ = try await herald.core.providers.create(ProviderInput(
                    name: "p", type: "http", config: ["url": .string(server.baseURL + "/send"), "id_path": .string("id")]))
                let message = try await herald.core.messages.send(
                    SendMessageRequest(to: "+14155550100", body: "Sale! Reply STOP to opt out", kind: "marketing"), apiKeyID: nil)
                try await herald.core.consent.record(.init(phone: "+14155550100", subscribe: false, source: "api"))
                try await dispatchUntil(herald) { try await herald.message(message.id)?.status == .canceled }
                let stored = try #require(try await herald.message(message.id))
                #expect(stored.status == .canceled)
                #expect(stored.error?.code == "recipient_unsubscribed")
                #expect(server.requests.isEmpty)
            }
        }
    }

    @Test("status changes reach the events URL, signed with HMAC-SHA256 over timestamp and body")
    func outgoingEvents() async throws {
        try await TestHerald.with(dispatcher: DispatcherTests.fast) { herald in
            try await ScriptedProvider.run(answer: { path, _, count in
                // The app's endpoint fails once: the event must come again.
                path == "/events" && count == 1 ? .init(status: 503) : .init(status: 200, body: "{}")
            }) { server in
                _ = try await herald.core.settings.update(["events_url": .string(server.baseURL + "/events")], actor: "test")
                let message = try await herald.core.messages.send(SendMessageRequest(to: "+14155550100", body: "hello"), apiKeyID: nil)
                try await dispatchUntil(herald) {
                    let rows = try await herald.pool.query(
                        "SELECT count(*) FILTER (WHERE status = 'delivered')::int, count(*) FILTER (WHERE last_error IS NOT NULL)::int FROM event_deliveries")
                    // After the failure, move the clock past the backoff instead of waiting it out.
                    if try rows[0].decode(1, as: Int.self) > 0 { herald.clock.advance(by: .seconds(10)) }
                    return try rows[0].decode(0, as: Int.self) == 1
                }
                let deliveries = server.requests.filter { $0.path == "/events" }
                #expect(deliveries.count >= 2, "the failed first delivery was retried")
                let event = try #require(deliveries.last)
                let object = try JSONSerialization.jsonObject(with: Data(event.body.utf8)) as? [String: Any] ?? [:]
                #expect(object["type"] as? String == "message.sent")
                let data = object["data"] as? [String: Any] ?? [:]
                #expect(data["id"] as? String == message.id.uuidString.lowercased())
                #expect(data["status"] as? String == "sent")
                #expect(data["provider"] as? String == "outbox")
                #expect(object["id"] is String)
                #expect(event.headers["herald-event-id"] == object["id"] as? String)
                // Verify as an app would: HMAC-SHA256 over "<t>.<body>" with the signing secret.
                let signature = try #require(event.headers["herald-signature"])
                let timestamp = try #require(signature.split(separator: ",").first.flatMap { Int($0.dropFirst(2)) })
                #expect(abs(timestamp - Int(Date().timeIntervalSince1970)) < 60)
                let key = Array(SettingsService.eventsSigningSecret(ServerSecret("test-secret-of-sufficient-length")).utf8)
                #expect(signature == EventService.signature(body: Array(event.body.utf8), timestamp: timestamp, key: key))
                #expect(signature != EventService.signature(body: Array((event.body + " ").utf8), timestamp: timestamp, key: key))
            }
        }
    }
}

extension DispatcherTests {
    @Test("a code is submitted while a campaign fills the dispatcher: marketing never takes the transactional reserve")
    func transactionalReserve() async throws {
        var configuration = Self.fast
        configuration.window = 100
        configuration.transactionalReserve = 20
        configuration.providerTimeout = .seconds(60)
        let marketingWindow = configuration.marketingWindow
        #expect(marketingWindow == 80)
        try await TestHerald.with(dispatcher: configuration) { herald in
            // Marketing is held 3 s by the provider; the code is answered at once.
            try await ScriptedProvider.run(answer: { _, body, count in
                .init(status: 200, body: #"{"id":"m\#(count)"}"#, delay: body.contains("offer") ? .seconds(3) : nil)
            }) { server in
                _ = try await httpProvider(herald, name: "slow", url: server.baseURL + "/send")
                try await herald.pool.query(
                    """
                    INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
                    SELECT '+14155550100', 'US', 'offer ' || i, 'sms', 'marketing', 1, 'queued', 'GSM-7', 1, 9
                    FROM generate_series(1, 300) AS i
                    """)
                let sent = Mutex(false)
                try await dispatchUntil(herald, timeout: .seconds(60)) {
                    let seen = server.requests
                    // Once marketing holds all it may, queue a code.
                    if seen.count >= marketingWindow, !sent.withLock({ $0 }) {
                        sent.withLock { $0 = true }
                        _ = try await herald.core.messages.send(SendMessageRequest(to: "+14155550123", body: "code 123456"), apiKeyID: nil)
                    }
                    return seen.contains { $0.body.contains("123456") }
                }
                let order = server.requests.map(\.body)
                let position = try #require(order.firstIndex { $0.contains("123456") })
                // Submitted right after the marketing that was in flight, not behind the next wave.
                #expect(position == marketingWindow, "the code was request \(position + 1)")
            }
        }
    }

    @Test("a dispatcher cancelled with sends in flight stops at once, without spinning on its cancelled sleeps",
          .timeLimit(.minutes(2)))
    func cancelledWithSendsInFlight() async throws {
        var configuration = Self.fast
        configuration.providerTimeout = .seconds(60)
        try await TestHerald.with(dispatcher: configuration) { herald in
            // The provider holds every request for 30 s: the sends are in flight when cancelled.
            try await ScriptedProvider.run(answer: { _, _, count in
                .init(status: 200, body: #"{"id":"m\#(count)"}"#, delay: .seconds(30))
            }) { server in
                _ = try await httpProvider(herald, name: "slow", url: server.baseURL + "/send")
                for index in 0..<20 {
                    _ = try await herald.core.messages.send(SendMessageRequest(to: "+14155550100", body: "held \(index)"), apiKeyID: nil)
                }
                let dispatcher = Task { try await herald.core.workers.dispatcher.run() }
                let deadline = ContinuousClock.now + .seconds(20)
                while server.requests.count < 20 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
                #expect(server.requests.count == 20)
                let cancelled = ContinuousClock.now
                dispatcher.cancel()
                try await dispatcher.value
                // It used to wait (spinning: a cancelled sleep returns at once) until the
                // provider timeout plus 10 s, with its spinning tasks starving everything else.
                let took = ContinuousClock.now - cancelled
                #expect(took < .seconds(10), "stopping took \(took)")
                // Nothing is lost: unrecorded sends stay leased and the lease reaper requeues them.
                let rows = try await herald.pool.query("SELECT count(*)::int8 FROM messages WHERE status IN ('sending', 'queued')")
                #expect(try rows[0].decode(0, as: Int64.self) == 20)
            }
        }
    }

    @Test("an idle dispatcher stops at once when cancelled, not at its next poll", .timeLimit(.minutes(2)))
    func cancelledWhileIdle() async throws {
        var configuration = Self.fast
        configuration.idlePoll = .seconds(60)
        try await TestHerald.with(dispatcher: configuration) { herald in
            let dispatcher = Task { try await herald.core.workers.dispatcher.run() }
            // Let it find the queue empty and settle into its wait.
            try await Task.sleep(for: .milliseconds(300))
            let cancelled = ContinuousClock.now
            dispatcher.cancel()
            try await dispatcher.value
            // It used to sleep out its poll interval, its record loop spinning meanwhile (a
            // cancelled sleep returns at once): two of those took every thread of the pool.
            let took = ContinuousClock.now - cancelled
            #expect(took < .seconds(10), "stopping took \(took)")
        }
    }

    @Test("a claim right after a large insert stays a claim of its limit, whatever the planner's statistics say")
    func claimAfterALargeInsert() async throws {
        try await TestHerald.with { herald in
            // Statistics taken while nothing is queued (after traffic: the queue's index has
            // pages but no entries), then a campaign-sized insert that no ANALYZE has seen
            // (autovacuum off for the table so none runs in between).
            try await herald.pool.query("ALTER TABLE messages SET (autovacuum_enabled = false)")
            try await herald.pool.query(
                """
                INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
                SELECT '+1415' || (3000000 + i)::text, 'US', 'earlier ' || i, 'sms', 'transactional', 0, 'queued', 'GSM-7', 1, 9
                FROM generate_series(1, 2000) AS i
                """)
            try await herald.pool.query("UPDATE messages SET status = 'delivered'")
            try await herald.pool.query("VACUUM ANALYZE messages")
            try await herald.pool.query(
                """
                INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
                SELECT '+1415' || (2000000 + i)::text, 'US', 'offer ' || i, 'sms', 'marketing', 1, 'queued', 'GSM-7', 1, 9
                FROM generate_series(1, 100000) AS i
                """)
            let store = QueueStore(pool: herald.pool)
            let started = ContinuousClock.now
            let claimed = try await store.claim(limit: 448, lease: .seconds(60), now: Date())
            let took = ContinuousClock.now - started
            #expect(claimed.count == 448)
            // The old statement joined all 100,000 queued rows to the 448 claimed (45 million
            // comparisons, 10 to 20 s here); the claim itself takes milliseconds.
            #expect(took < .seconds(3), "the claim took \(took)")
            let rows = try await herald.pool.query("SELECT count(*)::int8 FROM messages WHERE status = 'sending'")
            #expect(try rows[0].decode(0, as: Int64.self) == 448)
        }
    }

    @Test("id-keyed batches through the dispatcher's and receipts' connections look rows up by key, never hash the table")
    func keyedBatchesUseThePrimaryKey() async throws {
        try await TestHerald.with { herald in
            // A fresh install's first hours: tens of thousands of messages, statistics current.
            try await herald.pool.query(
                """
                INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters)
                SELECT '+1415' || (2000000 + i)::text, 'US', 'm ' || i, 'sms', 'transactional', 0, 'delivered', 'GSM-7', 1, 3
                FROM generate_series(1, 15000) AS i
                """)
            try await herald.pool.query("ANALYZE messages")
            let ids = try await herald.pool.query("SELECT id FROM messages LIMIT 400").map { try $0.decode(0, as: UUID.self) }
            let attempts = [Int](repeating: 0, count: ids.count)
            // The shape of the recorder's statements (QueueStore.recordSent and friends).
            let explain: PostgresQuery = """
                EXPLAIN UPDATE messages m SET updated_at = now()
                FROM unnest(\(ids)::uuid[], \(attempts)::int[]) AS v(id, attempts)
                WHERE m.id = v.id AND m.attempts = v.attempts AND m.status = ANY(\(["sending", "delivered", "undelivered"])::text[])
                """
            for pool in [herald.core.database.queuePool, herald.core.database.receiptPool] {
                let plan = try await pool.query(explain).map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
                #expect(!plan.contains("Hash Join") && !plan.contains("Seq Scan on messages"), "\(plan)")
                #expect(plan.contains("messages_pkey"), "\(plan)")
            }
        }
    }

    @Test("a message queued by another process wakes this process's dispatcher at once, not at its next poll",
          .timeLimit(.minutes(2)))
    func wokenByAnotherProcess() async throws {
        var configuration = Self.fast
        configuration.idlePoll = .seconds(60)
        try await TestHerald.with(dispatcher: configuration) { herald in
            try await ScriptedProvider.run(answer: { _, _, count in .init(status: 200, body: #"{"id":"m\#(count)"}"#) }) { server in
                _ = try await httpProvider(herald, name: "fast", url: server.baseURL + "/send")
                // The other process: its own Herald on the same database, running no workers.
                var options = HeraldCore.Options()
                options.passwordCost = 4
                let other = try HeraldCore(configuration: herald.core.configuration, database: herald.database,
                                       secret: ServerSecret(testSecret), resourceDirectory: repositoryRoot, options: options,
                                       logger: testLogger)
                let started = ContinuousClock.now
                let sentAt = Mutex<ContinuousClock.Instant?>(nil)
                do {
                    try await dispatchUntil(herald, timeout: .seconds(30)) {
                        // Once this dispatcher has long settled into its 60 s wait.
                        if ContinuousClock.now - started > .seconds(1), sentAt.withLock({ $0 == nil }) {
                            _ = try await other.messages.send(SendMessageRequest(to: "+14155550123", body: "code 654321"), apiKeyID: nil)
                            sentAt.withLock { $0 = ContinuousClock.now }
                        }
                        return server.requests.contains { $0.body.contains("654321") }
                    }
                    let waited = ContinuousClock.now - (sentAt.withLock { $0 } ?? started)
                    #expect(waited < .seconds(10), "the code waited \(waited)")
                } catch {
                    await other.close()
                    throw error
                }
                await other.close()
            }
        }
    }

    /// A process's own notifications do not wake its dispatcher a second time (the intake
    /// signalled it directly); another process's do.
    @Test func listenerSkipsItsOwnNotifications() async throws {
        try await TestHerald.with { herald in
            let wakeUp = WakeSignal()
            let listener = QueueListener(database: herald.database, wakeUp: wakeUp, origin: "this-process", logger: testLogger)
            let task = Task { try await listener.run() }
            defer { task.cancel() }
            // The signal it gives once listening.
            #expect(await wakeUp.wait(upTo: .seconds(10)))
            let own = QueueNotifier(store: QueueStore(pool: herald.pool), origin: "this-process")
            own.notify()
            #expect(await wakeUp.wait(upTo: .milliseconds(800)) == false, "woken by its own notification")
            let other = QueueNotifier(store: QueueStore(pool: herald.pool), origin: "another-process")
            other.notify()
            #expect(await wakeUp.wait(upTo: .seconds(10)), "not woken by another process's notification")
        }
    }
}
