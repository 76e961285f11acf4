import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// Wakes this process's dispatcher the moment another process queues a message: after each
/// commit that queued messages, ``QueueNotifier`` sends `NOTIFY herald_queue`, and this worker
/// `LISTEN`s on a connection of its own. Without it a `herald worker` process would find an
/// API process's codes only at its next poll.
///
/// Notifications carry the origin of the process that sent them; this process's own are
/// skipped (its intake already signalled its dispatcher directly), so a busy intake does not
/// wake its own dispatcher a second time per commit.
public struct QueueListener: Service {
    /// The channel ``QueueNotifier`` notifies.
    static let channel = "herald_queue"

    let database: PostgresConfiguration
    let wakeUp: WakeSignal
    /// This process's ``QueueNotifier/origin``.
    let origin: String
    let logger: Logger

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let connection = try await PostgresConnection.connect(database, logger: logger)
                    do {
                        let notifications = try await connection.listen(Self.channel)
                        // Whatever was queued while nobody listened is claimed now.
                        wakeUp.signal()
                        for try await notification in notifications where notification.payload != origin {
                            wakeUp.signal()
                        }
                        await connection.close()
                    } catch {
                        await connection.close()
                        throw error
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("queue notifications paused after an error; retrying", metadata: ["error": "\(error)"])
                    // Polling still finds everything meanwhile.
                    try await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}

/// Tells the dispatchers of other processes that messages were queued: `NOTIFY herald_queue`
/// on a connection of its own, off the request path.
///
/// Not inside the queueing statement: a committing `NOTIFY` takes a lock that serialises every
/// such commit in the cluster, which would serialise the intake's group commits. Here one
/// notification is in flight at a time (calls meanwhile fold into one more), and its session
/// commits asynchronously (`synchronous_commit = off`): a wake-up needs no fsync, and a lost
/// one only means the next poll.
final class QueueNotifier: Sendable {
    private struct State {
        var running = false
        var again = false
    }

    private let state = Mutex(State())
    private let store: QueueStore
    /// Names this process in its notifications (the payload), so its own listener skips them.
    let origin: String

    init(store: QueueStore, origin: String = UUID().uuidString) {
        self.store = store
        self.origin = origin
    }

    func notify() {
        let start = state.withLock { state -> Bool in
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        guard start else { return }
        Task {
            while true {
                try? await store.notifyQueued(channel: QueueListener.channel, origin: origin)
                let more = state.withLock { state -> Bool in
                    if state.again {
                        state.again = false
                        return true
                    }
                    state.running = false
                    return false
                }
                guard more else { return }
            }
        }
    }
}
