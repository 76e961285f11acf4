import Synchronization

/// Wakes a sleeping worker early: the dispatcher waits on it between polls, and a newly
/// queued message signals it, so a code is claimed at once instead of at the next poll.
/// A signal with nobody waiting is kept for the next wait (nothing is missed in between).
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Bool, Never>?
        /// Which wait a timer belongs to, so a late timer never ends a later wait.
        var generation: UInt64 = 0
        /// A timer that fired before its wait had registered: that wait returns at once.
        var expiredGeneration: UInt64 = 0
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume(returning: true)
    }

    /// Returns at the next signal (or at once if one is pending): true; or after `timeout`: false.
    @discardableResult
    func wait(upTo timeout: Duration) async -> Bool {
        let generation = state.withLock { state -> UInt64 in
            state.generation &+= 1
            return state.generation
        }
        let timer = Task {
            do {
                try await Task.sleep(for: timeout)
                self.expire(generation)
            } catch {}  // cancelled: woken already
        }
        // A cancelled waiter returns at once (as if its time were up) instead of waiting for
        // a timer that may never get a thread.
        let signalled = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let now = state.withLock { state -> Ended? in
                    if state.pending {
                        state.pending = false
                        return .signalled
                    }
                    if state.expiredGeneration == generation { return .expired }
                    state.waiter = continuation
                    return nil
                }
                switch now {
                case .signalled: continuation.resume(returning: true)
                case .expired: continuation.resume(returning: false)
                case nil: break
                }
            }
        } onCancel: {
            self.expire(generation)
        }
        timer.cancel()
        return signalled
    }

    private enum Ended { case signalled, expired }

    /// The number the next wait will have (tests replay the timer race with it).
    var nextGeneration: UInt64 { state.withLock { $0.generation &+ 1 } }

    /// The timer of wait `generation` fired. Internal so a test can fire it before the wait
    /// registers, the race that once left the dispatcher asleep for good.
    func expire(_ generation: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.generation == generation, let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            // The timer beat its wait to the registration: let the wait see it. (An older
            // timer than the current wait's changes nothing.)
            if generation >= state.generation, state.waiter == nil { state.expiredGeneration = generation }
            return nil
        }
        waiter?.resume(returning: false)
    }
}
