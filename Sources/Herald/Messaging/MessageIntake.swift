import Foundation
import SMS
import Synchronization

/// Group commit for `POST /v1/messages`: concurrent sends are gathered and queued by one
/// statement and one commit, each caller answered with its own row.
///
/// There is no timer. The first send starts a writer; sends that arrive while a write is at
/// the database wait for the next one, so a batch is whatever gathered during the previous
/// commit (one row when the API is quiet, dozens under load). A caller is answered only after
/// the commit that holds its row: a 202 still means the message is in PostgreSQL.
///
/// When a batch fails, its rows are retried one by one, so a row the database refuses fails
/// only its own request.
public final class MessageIntake: Sendable {
    let store: MessageStore
    /// Writes at the database at once (one connection each).
    let writers: Int
    /// Most rows in one statement.
    let maximumBatch: Int
    /// Told after each commit that queued messages (the dispatcher's wake-up).
    let onQueued: @Sendable () -> Void

    private struct Waiting {
        var new: NewMessage
        var text: MessageText
        var now: Date
        var continuation: CheckedContinuation<Message, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var activeWriters = 0
    }

    private let state = Mutex(State())
    /// Statements that queued messages, for tests that check requests are really gathered.
    let commits = Atomic<Int>(0)

    init(store: MessageStore, writers: Int, maximumBatch: Int = 256, onQueued: @escaping @Sendable () -> Void) {
        self.store = store
        self.writers = max(1, writers)
        self.maximumBatch = max(1, maximumBatch)
        self.onQueued = onQueued
    }

    /// Queues one message; returns once it is committed.
    func insert(_ new: NewMessage, measured text: MessageText, now: Date) async throws -> Message {
        try await withCheckedThrowingContinuation { continuation in
            let startWriter = state.withLock { state in
                state.waiting.append(Waiting(new: new, text: text, now: now, continuation: continuation))
                guard state.activeWriters < writers else { return false }
                state.activeWriters += 1
                return true
            }
            if startWriter { Task { await self.write() } }
        }
    }

    /// Writes batches until nothing waits.
    private func write() async {
        while true {
            let batch: [Waiting]? = state.withLock { state in
                guard !state.waiting.isEmpty else {
                    state.activeWriters -= 1
                    return nil
                }
                let count = min(state.waiting.count, maximumBatch)
                let batch = Array(state.waiting.prefix(count))
                state.waiting.removeFirst(count)
                return batch
            }
            guard let batch else { return }
            await commit(batch)
        }
    }

    private func commit(_ batch: [Waiting]) async {
        // One `now` for the batch: the latest of its requests' clocks.
        let now = batch.map(\.now).max() ?? Date()
        do {
            let messages = try await store.insert(batch.map { ($0.new, $0.text) }, now: now)
            commits.add(1, ordering: .relaxed)
            onQueued()
            for (waiting, message) in zip(batch, messages) { waiting.continuation.resume(returning: message) }
        } catch where batch.count > 1 {
            // Find the row at fault: each on its own, each answered with its own outcome.
            var queued = false
            for waiting in batch {
                do {
                    let message = try await store.insert([(waiting.new, waiting.text)], now: waiting.now)[0]
                    queued = true
                    waiting.continuation.resume(returning: message)
                } catch {
                    waiting.continuation.resume(throwing: error)
                }
            }
            if queued { onQueued() }
        } catch {
            batch[0].continuation.resume(throwing: error)
        }
    }
}
