import Synchronization

/// Wakes a sleeping worker early: the dispatcher waits on it between polls, and a newly
/// queued message signals it, so a code is claimed at once instead of at the next poll.
/// A signal with nobody waiting is kept for the next wait (nothing is missed in between).
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal (or at once if one is pending), or after `timeout`.
    func wait(upTo timeout: Duration) async {
        let timer = Task {
            do {
                try await Task.sleep(for: timeout)
                self.signal()
            } catch {}  // cancelled: woken already
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
        timer.cancel()
    }
}
