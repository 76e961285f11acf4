import Foundation
import Herald
import Postgres
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
            #expect(herald.core.messages.intake.commits.load(ordering: .relaxed) < count)
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
