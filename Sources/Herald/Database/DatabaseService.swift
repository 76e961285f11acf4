import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// The connection pools (and, in embedded mode, the PostgreSQL server) as a lifecycle
/// service: it runs until the graceful shutdown, then closes the pools and stops the
/// embedded server if this process owns it. Listed first, it stops last.
///
/// Five pools, so that the paths a verification code waits on never queue behind bulk work:
/// - `pool`: everything else (the dashboard, settings, identity);
/// - `intakePool`: the group-committed inserts of `POST /v1/messages`;
/// - `queuePool`: the dispatcher's claims and recorded outcomes;
/// - `receiptPool`: the group-committed delivery receipts;
/// - `notifyPool`: one connection for the wake-ups of other processes' dispatchers.
/// A flood of receipts or dashboard reads never delays a 202 or a claim.
///
/// The queue and receipt pools run only batches keyed by message id (`UPDATE … FROM
/// unnest($ids)`), for which the right plan is always an index lookup per id. Their sessions
/// forbid hash and merge joins: on a `messages` table of tens of thousands of rows the planner
/// otherwise hashed the whole table for every batch (a fresh install's first hours; 8 % of
/// the machine's CPU in the end-to-end benchmark).
final class DatabaseService: Service, Sendable {
    let pool: PostgresPool
    let intakePool: PostgresPool
    let queuePool: PostgresPool
    let receiptPool: PostgresPool
    /// One connection for ``QueueNotifier``'s wake-ups (asynchronous commit).
    let notifyPool: PostgresPool
    let runtime: DatabaseRuntime?
    let stopEmbedded: Bool
    private let closed = Atomic<Bool>(false)

    /// Connections of the reserved pools.
    static let intakeConnections = 2
    static let queueConnections = 3
    static let receiptConnections = 2

    /// Session settings of the pools that run id-keyed batches (see above).
    static let keyedBatchSettings = ["enable_hashjoin": "off", "enable_mergejoin": "off"]

    init(database: PostgresConfiguration, poolSize: Int, runtime: DatabaseRuntime?, stopEmbedded: Bool, logger: Logger) {
        self.pool = PostgresPool(configuration: database, maxConnections: poolSize, logger: logger)
        self.intakePool = PostgresPool(configuration: database, maxConnections: Self.intakeConnections, logger: logger)
        var keyed = database
        keyed.serverSettings.merge(Self.keyedBatchSettings) { _, new in new }
        self.queuePool = PostgresPool(configuration: keyed, maxConnections: Self.queueConnections, logger: logger)
        self.receiptPool = PostgresPool(configuration: keyed, maxConnections: Self.receiptConnections, logger: logger)
        var notifying = database
        notifying.serverSettings["synchronous_commit"] = "off"
        self.notifyPool = PostgresPool(configuration: notifying, maxConnections: 1, logger: logger)
        self.runtime = runtime
        self.stopEmbedded = stopEmbedded
    }

    func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes the pool, then stops the embedded server when owned. Only the first call acts.
    func close() async {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        await pool.close()
        await intakePool.close()
        await queuePool.close()
        await receiptPool.close()
        await notifyPool.close()
        await runtime?.close(force: stopEmbedded)
    }
}
