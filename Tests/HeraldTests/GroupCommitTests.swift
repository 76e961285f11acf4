import Foundation
import Herald
import Postgres
import Providers
import SMS
import Synchronization
import Testing
@testable import Herald

/// Group commit of `POST /v1/messages` (``MessageIntake``) and the dispatcher's wake-up.
@Suite("Group commit")
struct GroupCommitTests {
    @Test("concurrent sends each get their own committed row")
    func concurrentSends() async throws {
        try await TestHerald.with { herald in
            let count = 300
            let messages = try await withThrowingTaskGroup(of: (Int, Message).self) { group in
                for index in 0..<count {
                    group.addTask {
                        let message = try await herald.core.messages.send(
                            SendMessageRequest(to: "+1415555\(String(format: "%04d", 1000 + index))", body: "code \(index)"), apiKeyID: nil)
                        return (index, message)
                    }
                }
                var all: [Int: Message] = [:]
                for try await (index, message) in group { all[index] = message }
                return all
            }
            #expect(messages.count == count)
            #expect(Set(messages.values.map(\.id)).count == count)
            // Gathered: fewer statements than requests (one per request would mean no group commit).
            #expect(herald.core.messages.intake.commits < count)
            for (index, message) in messages {
                #expect(message.body == "code \(index)")
                #expect(message.to == "+1415555\(String(format: "%04d", 1000 + index))")
                #expect(message.status == .queued)
            }
            // Every answer is a committed row, exactly as answered.
            let rows = try await herald.pool.query("SELECT id, body FROM messages")
            var stored: [UUID: String] = [:]
            for row in rows { stored[try row.decode(0)] = try row.decode(1) }
            #expect(stored.count == count)
            for message in messages.values { #expect(stored[message.id] == message.body) }
        }
    }

    @Test("a row the database refuses fails only its own request; the rest of its batch is queued")
    func oneBadRowInABatch() async throws {
        try await TestHerald.with { herald in
            // An API key id that does not exist violates the foreign key: the database, not
            // validation, refuses that row. Sent among many, so it lands inside a batch.
            let missingKey = UUID()
            let results = await withTaskGroup(of: (Int, Result<Message, any Error>).self) { group in
                for index in 0..<120 {
                    group.addTask {
                        do {
                            let message = try await herald.core.messages.send(
                                SendMessageRequest(to: "+14155552\(String(format: "%03d", index))", body: "batch \(index)"),
                                apiKeyID: index == 60 ? missingKey : nil)
                            return (index, .success(message))
                        } catch {
                            return (index, .failure(error))
                        }
                    }
                }
                var all: [Int: Result<Message, any Error>] = [:]
                for await (index, result) in group { all[index] = result }
                return all
            }
            for (index, result) in results {
                switch result {
                case .success: #expect(index != 60)
                case .failure: #expect(index == 60)
                }
            }
            let rows = try await herald.pool.query("SELECT count(*)::int8 FROM messages")
            #expect(try rows[0].decode(0, as: Int64.self) == 119)
        }
    }
}

@Suite("Wake signal")
struct WakeSignalTests {
    @Test("a signal sent before the wait is kept; a wait ends at a signal", .timeLimit(.minutes(1)))
    func signals() async {
        let signal = WakeSignal()
        signal.signal()
        // Pending: returns at once although the timeout is an hour.
        await signal.wait(upTo: .seconds(3600))
        // A waiter woken by another task, long before its hour.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await signal.wait(upTo: .seconds(3600)) }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(50))
                signal.signal()
            }
        }
    }

    @Test("without a signal the wait ends at its timeout, also when the timer fires before the wait is registered",
          .timeLimit(.minutes(1)))
    func timeout() async {
        let signal = WakeSignal()
        #expect(await signal.wait(upTo: .milliseconds(20)) == false)
        // The timer fires before its wait has registered (a preempted thread): the wait must
        // still end — it once slept until the next signal, which never came.
        signal.expire(signal.nextGeneration)
        #expect(await signal.wait(upTo: .seconds(3600)) == false)
        // A zero timeout races the registration on every call: none of these may hang.
        for _ in 0..<2000 { await signal.wait(upTo: .zero) }
    }

    @Test("a cancelled wait returns at once, whether cancelled before or during the wait", .timeLimit(.minutes(1)))
    func cancellation() async {
        let signal = WakeSignal()
        let during = Task { await signal.wait(upTo: .seconds(3600)) }
        try? await Task.sleep(for: .milliseconds(50))
        during.cancel()
        #expect(await during.value == false)
        let before = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await signal.wait(upTo: .seconds(3600))
        }
        #expect(await before.value == false)
        // A signal is still kept for the next wait.
        signal.signal()
        #expect(await signal.wait(upTo: .seconds(3600)) == true)
    }
}

@Suite("API key cache")
struct APIKeyCacheTests {
    @Test("a key revoked here is refused at once; one revoked by another process within the cache age")
    func revocation() async throws {
        try await TestHerald.with { herald in
            let identity = herald.core.identity
            let first = try await identity.createAPIKey(name: "cached", scopes: ["messages"], createdBy: nil)
            #expect(try await identity.authenticate(apiKey: first.secret) != nil)
            try await identity.revokeAPIKey(id: first.key.id)
            #expect(try await identity.authenticate(apiKey: first.secret) == nil)

            // Revoked behind this process's back (another process, or psql).
            let second = try await identity.createAPIKey(name: "elsewhere", scopes: ["messages"], createdBy: nil)
            #expect(try await identity.authenticate(apiKey: second.secret) != nil)
            try await herald.pool.query("UPDATE api_keys SET revoked_at = now() WHERE id = \(second.key.id)")
            try await Task.sleep(for: IdentityService.apiKeyCacheAge + .milliseconds(100))
            #expect(try await identity.authenticate(apiKey: second.secret) == nil)
        }
    }
}

@Suite("Group commit, the mechanism")
struct GroupCommitMechanismTests {
    struct Refused: Error {}

    @Test("items sharing a key never share a batch; every caller gets its own answer", .timeLimit(.minutes(1)))
    func conflictKeys() async throws {
        let batches = Mutex<[[Int]]>([])
        let group = GroupCommit<Int, Int>(writers: 2, maximumBatch: 16, conflictKeys: { ["k\($0 % 7)"] }) { items in
            batches.withLock { $0.append(items) }
            try await Task.sleep(for: .milliseconds(2))
            return items.map { $0 * 10 }
        }
        let answers = try await withThrowingTaskGroup(of: (Int, Int).self) { tasks in
            for item in 0..<300 { tasks.addTask { (item, try await group.submit(item)) } }
            var all: [Int: Int] = [:]
            for try await (item, answer) in tasks { all[item] = answer }
            return all
        }
        #expect(answers.count == 300)
        for (item, answer) in answers { #expect(answer == item * 10) }
        let written = batches.withLock { $0 }
        #expect(written.flatMap { $0 }.sorted() == Array(0..<300), "each item written exactly once")
        for batch in written {
            #expect(Set(batch.map { $0 % 7 }).count == batch.count, "a batch shared a key: \(batch)")
            #expect(batch.count <= 16)
        }
        #expect(written.count < 300, "calls were gathered")
    }

    @Test("a batch the database refuses is retried item by item: only the bad item fails", .timeLimit(.minutes(1)))
    func oneBadItem() async {
        let group = GroupCommit<Int, Int>(writers: 1) { items in
            if items.contains(13) { throw Refused() }
            try await Task.sleep(for: .milliseconds(1))
            return items
        }
        let results = await withTaskGroup(of: (Int, Bool).self) { tasks in
            for item in 0..<100 {
                tasks.addTask { (item, (try? await group.submit(item)) == item) }
            }
            var all: [Int: Bool] = [:]
            for await (item, ok) in tasks { all[item] = ok }
            return all
        }
        for (item, ok) in results { #expect(ok == (item != 13), "item \(item)") }
    }

    @Test("a write that answers the wrong number of items fails its callers instead of leaving them waiting",
          .timeLimit(.minutes(1)))
    func wrongCount() async {
        let group = GroupCommit<Int, Int>(writers: 1) { _ in [] }
        await #expect(throws: (any Error).self) { try await group.submit(1) }
    }
}

@Suite("Receipt group commit")
struct ReceiptGroupCommitTests {
    @Test("concurrent receipts are applied by fewer commits than receipts, each to its own message")
    func concurrentReceipts() async throws {
        try await TestHerald.with { herald in
            let provider = try await herald.core.providers.create(ProviderInput(
                name: "receipts", type: "http", config: ["url": .string("https://provider.example/send"), "id_path": .string("id")]))
            let count = 200
            let ids = try await herald.pool.query(
                """
                INSERT INTO messages (to_number, country, body, channel, kind, priority, status, encoding, segments, characters,
                                      provider_id, provider_message_id, sent_at)
                SELECT '+1415' || (5000000 + i)::text, 'US', 'receipt ' || i, 'sms', 'transactional', 0, 'sent', 'GSM-7', 1, 9,
                       \(provider.id), 'pm-' || i, now()
                FROM generate_series(1, \(count)) AS i
                RETURNING id, provider_message_id
                """).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: String.self)) }
            let intake = herald.core.webhooks.receiptIntake
            let changes = try await withThrowingTaskGroup(of: (UUID, QueueStore.StatusChange?).self) { tasks in
                for (index, (id, providerMessageID)) in ids.enumerated() {
                    tasks.addTask {
                        let receipt = DeliveryReceipt(providerMessageID: providerMessageID, status: index % 10 == 0 ? .undelivered : .delivered,
                                                      providerStatus: index % 10 == 0 ? "undelivered" : "delivered")
                        // Half name the message in the URL, half only by the provider's id.
                        let update = QueueStore.ReceiptUpdate(receipt: receipt, providerID: provider.id,
                                                              messageID: index.isMultiple(of: 2) ? id : nil,
                                                              sighting: Array("webhook \(index)".utf8))
                        return (id, try await intake.submit(update))
                    }
                }
                var all: [UUID: QueueStore.StatusChange?] = [:]
                for try await (id, change) in tasks { all[id] = change }
                return all
            }
            #expect(intake.commits.load(ordering: .relaxed) < count, "receipts were gathered")
            for (index, (id, _)) in ids.enumerated() {
                let expected: MessageStatus = index % 10 == 0 ? .undelivered : .delivered
                #expect(changes[id]??.id == id)
                #expect(changes[id]??.status == expected)
            }
            let rows = try await herald.pool.query("SELECT status, count(*)::int8 FROM messages GROUP BY 1 ORDER BY 1")
            let counts = try Dictionary(uniqueKeysWithValues: rows.map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int64.self)) })
            #expect(counts == ["delivered": 180, "undelivered": 20])
            // The same webhooks again (replays): nothing changes, nothing is reported.
            for (index, (id, providerMessageID)) in ids.prefix(20).enumerated() {
                let receipt = DeliveryReceipt(providerMessageID: providerMessageID, status: .undelivered, providerStatus: "undelivered")
                let replay = QueueStore.ReceiptUpdate(receipt: receipt, providerID: provider.id, messageID: index.isMultiple(of: 2) ? id : nil,
                                                      sighting: Array("webhook \(index)".utf8))
                #expect(try await intake.submit(replay) == nil)
            }
        }
    }
}
