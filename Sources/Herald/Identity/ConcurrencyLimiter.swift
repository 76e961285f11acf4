import Synchronization

/// An async semaphore with a bounded queue: at most `maxRunning` bodies at once, at most
/// `maxWaiting` callers waiting in line (first come, first served), and the rest refused at
/// once with ``Full`` instead of piling up.
///
/// Password hashing uses it so a flood of logins costs a bounded amount of CPU and memory and
/// the rest of the server keeps answering.
public final class ConcurrencyLimiter: Sendable {
    /// The line is full; try again later.
    public struct Full: Error, Sendable {}

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    public let maxRunning: Int
    public let maxWaiting: Int
    private let state = Mutex(State())

    public init(maxRunning: Int, maxWaiting: Int) {
        precondition(maxRunning >= 1 && maxWaiting >= 0)
        self.maxRunning = maxRunning
        self.maxWaiting = maxWaiting
    }

    /// Runs `body` once a slot is free; throws ``Full`` when the line is full, or
    /// `CancellationError` when the task is cancelled while waiting.
    public func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    /// Callers running and waiting right now.
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiters.count) }
    }

    private enum Admission {
        case now, wait(UInt64), full
    }

    private func acquire() async throws {
        let admission: Admission = state.withLock { state in
            if state.running < maxRunning && state.waiters.isEmpty {
                state.running += 1
                return .now
            }
            guard state.waiters.count < maxWaiting else { return .full }
            state.nextID += 1
            return .wait(state.nextID)
        }
        switch admission {
        case .now: return
        case .full: throw Full()
        case .wait(let id): try await wait(id: id)
        }
    }

    private func wait(id: UInt64) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let immediate: Result<Void, any Error>? = state.withLock { state in
                    // Cancelled before we got in line: the handler below found nothing to resume.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    // A slot may have freed up since `acquire` looked.
                    if state.running < maxRunning && state.waiters.isEmpty {
                        state.running += 1
                        return .success(())
                    }
                    guard state.waiters.count < maxWaiting else { return .failure(Full()) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// Hands the slot to the first waiter, or frees it.
    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiters.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
