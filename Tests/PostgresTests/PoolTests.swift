import Foundation
import Postgres
import PostgresTestSupport
import Testing

@Suite("A connection pool")
struct PoolTests {
    @Test("when every connection is held, the next acquire times out with .poolExhausted")
    func exhaustion() async throws {
        try await withTestPool(maxConnections: 2, acquireTimeout: .milliseconds(200)) { pool, _ in
            let release = Gate()
            let holders = (0..<2).map { _ in
                Task { try await pool.withConnection { _ in await release.wait() } }
            }
            #expect(try await eventually { pool.statistics.inUse == 2 })
            let started = ContinuousClock.now
            let error = await expectPostgresError { try await pool.query("SELECT 1") }
            #expect(error?.code == .poolExhausted)
            #expect(started.duration(to: .now) >= .milliseconds(180))
            #expect(started.duration(to: .now) < .seconds(10))
            let statistics = pool.statistics
            #expect(statistics.acquireTimeouts == 1)
            #expect(statistics.open == 2)
            #expect(statistics.maxConnections == 2)
            #expect(statistics.waiting == 0)
            release.open()
            for holder in holders { try await holder.value }
            try await pool.query("SELECT 1")
            #expect(pool.statistics.connectionsOpened == 2)
        }
    }

    @Test("cancelling a waiting task removes it from the queue at once")
    func waiterCancellation() async throws {
        try await withTestPool(maxConnections: 1, acquireTimeout: .seconds(30)) { pool, _ in
            let release = Gate()
            let holder = Task { try await pool.withConnection { _ in await release.wait() } }
            #expect(try await eventually { pool.statistics.inUse == 1 })
            let waiter = Task { try await pool.query("SELECT 1") }
            #expect(try await eventually { pool.statistics.waiting == 1 })
            let started = ContinuousClock.now
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(started.duration(to: .now) < .seconds(10), "the waiter leaves without waiting for a connection")
            #expect(pool.statistics.waiting == 0)
            release.open()
            try await holder.value
            try await pool.query("SELECT 1")
            #expect(pool.statistics.acquireTimeouts == 0)
        }
    }

    @Test("waiters are served in the order they arrived")
    func fifo() async throws {
        try await withTestPool(maxConnections: 1, acquireTimeout: .seconds(30)) { pool, _ in
            let release = Gate()
            let holder = Task { try await pool.withConnection { _ in await release.wait() } }
            #expect(try await eventually { pool.statistics.inUse == 1 })
            let order = OrderLog()
            var waiters: [Task<Void, any Error>] = []
            for index in 0..<4 {
                waiters.append(Task { try await pool.withConnection { _ in await order.append(index) } })
                #expect(try await eventually { pool.statistics.waiting == index + 1 })
            }
            release.open()
            try await holder.value
            for waiter in waiters { try await waiter.value }
            #expect(await order.values == [0, 1, 2, 3])
        }
    }

    @Test("queries from many tasks share at most maxConnections connections")
    func concurrency() async throws {
        try await withTestPool(maxConnections: 3) { pool, _ in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for value in 0..<200 {
                    group.addTask { try await pool.query("SELECT \(value) AS v")[0].decode("v", as: Int.self) }
                }
                var sum = 0
                for try await value in group { sum += value }
                #expect(sum == (0..<200).reduce(0, +))
            }
            let statistics = pool.statistics
            #expect(statistics.connectionsOpened <= 3)
            #expect(statistics.inUse == 0)
            #expect(statistics.idle == statistics.open)
        }
    }

    @Test("a connection that broke while leased is discarded and the next query gets a fresh one")
    func brokenConnectionDiscarded() async throws {
        try await withTestPool(maxConnections: 2) { pool, _ in
            let error = await expectPostgresError {
                try await pool.withConnection { connection in
                    _ = try await connection.query("SELECT pg_terminate_backend(pg_backend_pid())")
                }
            }
            #expect(error?.code == .connectionLost)
            #expect(pool.statistics.open == 0)
            try await pool.query("SELECT 1")
            #expect(pool.statistics.connectionsOpened == 2)
        }
    }

    @Test("an idle connection killed by the server is replaced before the next query")
    func idleConnectionKilled() async throws {
        try await withTestPool(maxConnections: 2, idleHealthCheckAfter: .zero) { pool, configuration in
            let pid = try await pool.withConnection { $0.backendPID }
            let admin = try await PostgresConnection.connect(configuration, logger: quietLogger)
            try await admin.query("SELECT pg_terminate_backend(\(pid))")
            await admin.close()
            let rows = try await pool.query("SELECT pg_backend_pid() AS pid")
            #expect(try rows[0].decode("pid", as: Int32.self) != pid)
            #expect(pool.statistics.connectionsOpened == 2)
        }
    }

    @Test("ping answers true for a live server and false once the pool is closed")
    func ping() async throws {
        try await withTestPool { pool, _ in
            #expect(await pool.ping())
            await pool.close()
            #expect(await pool.ping(timeout: .milliseconds(200)) == false)
        }
    }

    @Test("after close, acquires fail with .poolClosed and waiters are released")
    func close() async throws {
        try await withTestPool(maxConnections: 1, acquireTimeout: .seconds(30)) { pool, _ in
            let release = Gate()
            let holder = Task { try await pool.withConnection { _ in await release.wait() } }
            #expect(try await eventually { pool.statistics.inUse == 1 })
            let waiter = Task { try await pool.query("SELECT 1") }
            #expect(try await eventually { pool.statistics.waiting == 1 })
            await pool.close()
            let waiterError = await expectPostgresError { try await waiter.value }
            #expect(waiterError?.code == .poolClosed)
            let error = await expectPostgresError { try await pool.query("SELECT 1") }
            #expect(error?.code == .poolClosed)
            release.open()
            try await holder.value
            #expect(pool.statistics.open == 0)
        }
    }

    @Test("a server restart fails the query in flight with .connectionLost and the next query succeeds")
    func serverRestart() async throws {
        let cluster = try await TestCluster.makePrivate()
        let pool = PostgresPool(configuration: cluster.adminConfiguration, maxConnections: 3, logger: quietLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { try await pool.query("SELECT pg_sleep(0.05)") } }
            try await group.waitForAll()
        }
        #expect(pool.statistics.open == 3)
        let inFlight = Task { try await pool.query("SELECT pg_sleep(30)") }
        #expect(try await eventually {
            try await pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")[0].decode("n", as: Int.self) == 1
        })
        try await cluster.restart()
        let error = await expectPostgresError { try await inFlight.value }
        #expect(error?.code == .connectionLost)
        #expect(error?.description.contains("connectionLost") == true)

        let rows = try await pool.query("SELECT 1 AS one")
        #expect(try rows[0].decode("one", as: Int.self) == 1)
        #expect(await pool.ping())
        await pool.close()
        try await cluster.stop()
    }
}

private actor OrderLog {
    var values: [Int] = []
    func append(_ value: Int) { values.append(value) }
}
