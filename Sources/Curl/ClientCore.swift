import CCurl
import Logging

/// What `HTTPClient` shares with its thread: the hand-over queues, under one lock, and the
/// pipe that wakes the thread.
final class ClientCore: Sendable {
    struct Shared {
        /// Submitted, not yet taken by the thread.
        var pending: [Transfer] = []
        /// Cancelled after submission, not yet seen by the thread.
        var cancellations: [Transfer] = []
        /// Jobs of tasks that prefer the client's executor (`HTTPClient.executor`).
        var jobs: [UnownedJob] = []
        /// The thread is awake (it will look at the queues before it sleeps again), or the
        /// wakeup pipe was written since it last went to sleep: no need to write it again.
        var awake = true
        var shutdownRequested = false
        var stopped = false
        var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
        /// Published by the thread.
        var statistics = HTTPClientStatistics()
    }

    let shared = LockedState(Shared())
    /// Wakes the thread out of `poll` when there is new work, a cancellation or a shutdown.
    let wakeup = WakeupPipe()
    let configuration: HTTPClient.Configuration
    let logger: Logger

    init(configuration: HTTPClient.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Hands `transfer` to the thread; returns the error to throw instead when the client is
    /// shut down or the task was already cancelled.
    func submit(_ transfer: Transfer) -> HTTPClientError? {
        let (error, wake) = shared.withLock { shared -> (HTTPClientError.Code?, Bool) in
            if shared.shutdownRequested { return (.shutdown, false) }
            if transfer.cancelRequested { return (.cancelled, false) }
            transfer.submitted = true
            shared.pending.append(transfer)
            return (nil, shared.requestWakeup())
        }
        if wake { wakeup.wake() }
        return error.map { HTTPClientError($0, host: URLParts.host(of: transfer.request.url)) }
    }

    /// Asks the thread to drop `transfer` and fail it with `.cancelled`.
    func cancel(_ transfer: Transfer) {
        let wake = shared.withLock { shared -> Bool in
            transfer.cancelRequested = true
            guard transfer.submitted, !shared.shutdownRequested else { return false }
            shared.cancellations.append(transfer)
            return shared.requestWakeup()
        }
        if wake { wakeup.wake() }
    }

    func requestShutdown() {
        let wake = shared.withLock { shared -> Bool in
            shared.shutdownRequested = true
            return shared.requestWakeup()
        }
        if wake { wakeup.wake() }
    }

    func shutdown() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (stopped, wake) = shared.withLock { shared -> (Bool, Bool) in
                if shared.stopped { return (true, false) }
                shared.shutdownWaiters.append(continuation)
                shared.shutdownRequested = true
                return (false, shared.requestWakeup())
            }
            if wake { wakeup.wake() }
            if stopped { continuation.resume() }
        }
    }

    var statistics: HTTPClientStatistics {
        shared.withLock { shared in
            var statistics = shared.statistics
            statistics.queued += shared.pending.count
            return statistics
        }
    }

    /// Queues a job for the thread; false once the thread has stopped.
    func enqueue(_ job: UnownedJob) -> Bool {
        let (accepted, wake) = shared.withLock { shared -> (Bool, Bool) in
            if shared.stopped { return (false, false) }
            shared.jobs.append(job)
            return (true, shared.requestWakeup())
        }
        if wake { wakeup.wake() }
        return accepted
    }

    /// The body of the client's thread.
    func run(executor: UnownedTaskExecutor?) {
        logger.debug("HTTP client thread started", metadata: [
            "http.max_concurrent_transfers": "\(configuration.maxConcurrentTransfers)",
            "http.max_connections_per_host": "\(configuration.maxConnectionsPerHost)",
        ])
        TransferLoop(core: self, executor: executor).run()
        let (waiters, jobs) = shared.withLock { shared in
            shared.stopped = true
            defer {
                shared.shutdownWaiters = []
                shared.jobs = []
            }
            return (shared.shutdownWaiters, shared.jobs)
        }
        logger.debug("HTTP client thread stopped")
        for waiter in waiters { waiter.resume() }
        // Jobs that arrived during shutdown still run, on the global executor.
        for job in jobs { globalConcurrentExecutor.enqueue(ExecutorJob(job)) }
    }
}

extension ClientCore.Shared {
    /// Whether the caller must write the wakeup pipe: only when the thread sleeps in `poll`, and
    /// only the first caller since it went to sleep.
    mutating func requestWakeup() -> Bool {
        if awake { return false }
        awake = true
        return true
    }

    /// Whether the thread has something to do without waiting for a socket.
    var hasWork: Bool {
        !pending.isEmpty || !cancellations.isEmpty || !jobs.isEmpty || shutdownRequested
    }
}
