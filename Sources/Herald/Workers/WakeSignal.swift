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
        let signalled = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let now = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume(returning: true) }
        }
        timer.cancel()
        return signalled
    }

    private func expire(_ generation: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard state.generation == generation, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: false)
    }
}
