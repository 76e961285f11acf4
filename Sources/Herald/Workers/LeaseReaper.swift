import Logging
import ServiceLifecycle

/// Puts messages whose lease ran out — their dispatcher died mid-send — back in the queue,
/// every few seconds. One per process is plenty; several on one database are harmless
/// (the requeue is one idempotent statement).
public struct LeaseReaper: Service {
    let queue: QueueStore
    let clock: any HeraldClock
    let interval: Duration
    let logger: Logger

    init(queue: QueueStore, clock: any HeraldClock, interval: Duration = .seconds(5), logger: Logger) {
        self.queue = queue
        self.clock = clock
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await repeatEvery(interval, immediately: true) { _ = await reap() }
    }

    /// One pass: returns how many messages went back to the queue.
    @discardableResult
    public func reap() async -> Int {
        do {
            let requeued = try await queue.requeueExpiredLeases(now: clock.now)
            if requeued > 0 { logger.warning("requeued messages whose lease expired", metadata: ["messages": "\(requeued)"]) }
            return requeued
        } catch {
            logger.warning("could not requeue expired leases", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
