import Postgres

/// What `/readyz` and `/metrics` report about the database, in the application's terms.
public struct HealthService: Sendable {
    let pool: PostgresPool

    /// Connection pool usage at this moment.
    public struct PoolUsage: Sendable, Equatable {
        public var open: Int
        public var inUse: Int
        public var idle: Int
        public var waiting: Int
        public var maxConnections: Int
        /// Acquires that timed out since the process started (monotonic).
        public var acquireTimeouts: Int
    }

    /// Whether the database answers within `timeout`.
    public func databaseReachable(timeout: Duration = .seconds(2)) async -> Bool {
        await pool.ping(timeout: timeout)
    }

    public var poolUsage: PoolUsage {
        let stats = pool.statistics
        return PoolUsage(open: stats.open, inUse: stats.inUse, idle: stats.idle, waiting: stats.waiting,
                         maxConnections: stats.maxConnections, acquireTimeouts: stats.acquireTimeouts)
    }
}
