import Foundation
import SMS

/// Group commit for `POST /v1/messages` (a ``GroupCommit``): concurrent sends are queued by
/// one statement and one commit, each caller answered with its own row. A caller is answered
/// only after the commit that holds its row: a 202 still means the message is in PostgreSQL.
public final class MessageIntake: Sendable {
    struct Item: Sendable {
        var new: NewMessage
        var text: MessageText
        var now: Date
    }

    private let group: GroupCommit<Item, Message>
    /// Told after each commit that queued messages (the dispatcher's wake-up).
    let onQueued: @Sendable () -> Void

    /// Statements that queued messages, for tests that check requests are really gathered.
    var commits: Int { group.commits.load(ordering: .relaxed) }

    init(store: MessageStore, writers: Int, maximumBatch: Int = 256, onQueued: @escaping @Sendable () -> Void) {
        self.onQueued = onQueued
        group = GroupCommit(writers: writers, maximumBatch: maximumBatch, onCommitted: onQueued) { items in
            // One `now` for the batch: the latest of its requests' clocks.
            let now = items.map(\.now).max() ?? Date()
            return try await store.insert(items.map { ($0.new, $0.text) }, now: now)
        }
    }

    /// Queues one message; returns once it is committed.
    func insert(_ new: NewMessage, measured text: MessageText, now: Date) async throws -> Message {
        try await group.submit(Item(new: new, text: text, now: now))
    }
}
