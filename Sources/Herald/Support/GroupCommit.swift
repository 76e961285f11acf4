import Synchronization

/// Group commit: concurrent calls are gathered and written by one statement and one commit,
/// each caller answered with its own result once the commit that holds it is done.
///
/// There is no timer. The first call starts a writer; calls that arrive while a write is at
/// the database wait for the next one, so a batch is whatever gathered during the previous
/// commit (one item when traffic is quiet, dozens under load).
///
/// When a batch fails, its items are written one by one, so an item the database refuses
/// fails only its own call. Items that share a conflict key never share a batch (the later
/// one waits for the next): a set-based statement could otherwise apply only one of them.
final class GroupCommit<Item: Sendable, Output: Sendable>: Sendable {
    /// Writes a batch; returns one output per item, in order.
    typealias Write = @Sendable ([Item]) async throws -> [Output]

    private struct Waiting {
        var item: Item
        var keys: [String]
        var continuation: CheckedContinuation<Output, any Error>
    }

    private struct State {
        var waiting: [Waiting] = []
        var activeWriters = 0
    }

    private let state = Mutex(State())
    private let writers: Int
    private let maximumBatch: Int
    private let write: Write
    private let conflictKeys: @Sendable (Item) -> [String]
    private let onCommitted: @Sendable () -> Void
    /// Statements that committed items, for tests that check calls are really gathered.
    let commits = Atomic<Int>(0)

    /// `writers` batches may be at the database at once (one connection each);
    /// `onCommitted` is told after each commit that wrote something.
    init(writers: Int, maximumBatch: Int = 256, conflictKeys: @escaping @Sendable (Item) -> [String] = { _ in [] },
         onCommitted: @escaping @Sendable () -> Void = {}, write: @escaping Write) {
        self.writers = max(1, writers)
        self.maximumBatch = max(1, maximumBatch)
        self.conflictKeys = conflictKeys
        self.onCommitted = onCommitted
        self.write = write
    }

    /// Writes `item` with whatever else is waiting; returns once it is committed.
    func submit(_ item: Item) async throws -> Output {
        let keys = conflictKeys(item)
        return try await withCheckedThrowingContinuation { continuation in
            let startWriter = state.withLock { state in
                state.waiting.append(Waiting(item: item, keys: keys, continuation: continuation))
                guard state.activeWriters < writers else { return false }
                state.activeWriters += 1
                return true
            }
            if startWriter { Task { await self.drain() } }
        }
    }

    /// Writes batches until nothing waits.
    private func drain() async {
        while let batch = next() {
            await commit(batch)
        }
    }

    /// The next batch, in arrival order, skipping (for now) items whose key is already in it;
    /// nil, with this writer retired, when nothing waits.
    private func next() -> [Waiting]? {
        state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.activeWriters -= 1
                return nil
            }
            var batch: [Waiting] = []
            var rest: [Waiting] = []
            var taken: Set<String> = []
            for waiting in state.waiting {
                if batch.count < maximumBatch, waiting.keys.allSatisfy({ !taken.contains($0) }) {
                    taken.formUnion(waiting.keys)
                    batch.append(waiting)
                } else {
                    rest.append(waiting)
                }
            }
            state.waiting = rest
            return batch
        }
    }

    private func commit(_ batch: [Waiting]) async {
        do {
            let outputs = try await write(batch.map(\.item))
            guard outputs.count == batch.count else {
                throw HeraldError(.databaseUnavailable, "a batch came back with \(outputs.count) results for \(batch.count) items")
            }
            commits.add(1, ordering: .relaxed)
            onCommitted()
            for (waiting, output) in zip(batch, outputs) { waiting.continuation.resume(returning: output) }
        } catch where batch.count > 1 {
            // Find the item at fault: each on its own, each answered with its own outcome.
            var committed = false
            for waiting in batch {
                do {
                    let output = try await write([waiting.item])[0]
                    committed = true
                    waiting.continuation.resume(returning: output)
                } catch {
                    waiting.continuation.resume(throwing: error)
                }
            }
            if committed { onCommitted() }
        } catch {
            batch[0].continuation.resume(throwing: error)
        }
    }
}
