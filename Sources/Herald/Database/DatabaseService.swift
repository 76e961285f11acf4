import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Synchronization

/// The connection pools (and, in embedded mode, the PostgreSQL server) as a lifecycle
/// service: it runs until the graceful shutdown, then closes the pools and stops the
/// embedded server if this process owns it. Listed first, it stops last.
///
/// Three pools, so that the paths a verification code waits on never queue behind bulk work:
/// - `pool`: everything else (the dashboard, receipts, settings, identity);
/// - `intakePool`: the group-committed inserts of `POST /v1/messages`;
/// - `queuePool`: the dispatcher's claims and recorded outcomes.
/// A flood of receipts or dashboard reads waits for `pool` and never delays a 202 or a claim.
final class DatabaseService: Service, Sendable {
    let pool: PostgresPool
    let intakePool: PostgresPool
    let queuePool: PostgresPool
    let runtime: DatabaseRuntime?
    let stopEmbedded: Bool
    private let closed = Atomic<Bool>(false)

    /// Connections of the two reserved pools.
    static let intakeConnections = 2
    static let queueConnections = 3

    init(database: PostgresConfiguration, poolSize: Int, runtime: DatabaseRuntime?, stopEmbedded: Bool, logger: Logger) {
        self.pool = PostgresPool(configuration: database, maxConnections: poolSize, logger: logger)
        self.intakePool = PostgresPool(configuration: database, maxConnections: Self.intakeConnections, logger: logger)
        self.queuePool = PostgresPool(configuration: database, maxConnections: Self.queueConnections, logger: logger)
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
        await runtime?.close(force: stopEmbedded)
    }
}
