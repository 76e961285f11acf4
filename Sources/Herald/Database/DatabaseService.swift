import Foundation
import Postgres
import ServiceLifecycle
import Synchronization

/// The connection pool (and, in embedded mode, the PostgreSQL server) as a lifecycle
/// service: it runs until the graceful shutdown, then closes the pool and stops the
/// embedded server if this process owns it. Listed first, it stops last.
final class DatabaseService: Service, Sendable {
    let pool: PostgresPool
    let runtime: DatabaseRuntime?
    let stopEmbedded: Bool
    private let closed = Atomic<Bool>(false)

    init(pool: PostgresPool, runtime: DatabaseRuntime?, stopEmbedded: Bool) {
        self.pool = pool
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
        await runtime?.close(force: stopEmbedded)
    }
}
