import Foundation
import Postgres
import PostgresTestSupport
import Testing

private struct Abort: Error, Equatable {}

@Suite("Transactions")
struct TransactionTests {
    @Test("a transaction commits what its body did")
    func commit() async throws {
        try await withTestPool { pool, _ in
            try await pool.query("CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL)")
            let total = try await pool.withTransaction { connection in
                try await connection.query("INSERT INTO ledger VALUES (1, 10), (2, 20)")
                return try await connection.query("SELECT sum(amount) AS total FROM ledger")[0].decode("total", as: Int.self)
            }
            #expect(total == 30)
            let count = try await pool.query("SELECT count(*) AS n FROM ledger")[0].decode("n", as: Int.self)
            #expect(count == 2)
        }
    }

    @Test("a transaction rolls back when its body throws, and the error comes through")
    func rollback() async throws {
        try await withTestPool { pool, _ in
            try await pool.query("CREATE TABLE ledger (id int PRIMARY KEY)")
            await #expect(throws: Abort.self) {
                try await pool.withTransaction { connection in
                    try await connection.query("INSERT INTO ledger VALUES (1)")
                    throw Abort()
                }
            }
            let count = try await pool.query("SELECT count(*) AS n FROM ledger")[0].decode("n", as: Int.self)
            #expect(count == 0)
            // The connection went back to the pool clean, not discarded.
            let statistics = pool.statistics
            #expect(statistics.inUse == 0)
            #expect(statistics.open == statistics.idle)
        }
    }

    @Test("a failed statement inside a transaction rolls it back and surfaces its SQLSTATE")
    func failedStatement() async throws {
        try await withTestPool { pool, _ in
            try await pool.query("CREATE TABLE ledger (id int PRIMARY KEY)")
            let error = await expectPostgresError {
                try await pool.withTransaction { connection in
                    try await connection.query("INSERT INTO ledger VALUES (1)")
                    try await connection.query("INSERT INTO ledger VALUES (1)")
                }
            }
            #expect(error?.sqlState == .uniqueViolation)
            let count = try await pool.query("SELECT count(*) AS n FROM ledger")[0].decode("n", as: Int.self)
            #expect(count == 0)
        }
    }

    @Test("COMMIT of a transaction that already failed is reported, not silently rolled back")
    func swallowedError() async throws {
        try await withTestPool { pool, _ in
            try await pool.query("CREATE TABLE ledger (id int PRIMARY KEY)")
            let error = await expectPostgresError {
                try await pool.withTransaction { connection in
                    try await connection.query("INSERT INTO ledger VALUES (1)")
                    _ = try? await connection.query("SELECT * FROM missing_table")
                }
            }
            #expect(error?.code == .transactionRolledBack)
            let count = try await pool.query("SELECT count(*) AS n FROM ledger")[0].decode("n", as: Int.self)
            #expect(count == 0)
        }
    }

    @Test("a serialization failure is detectable for a retry")
    func serializationFailure() async throws {
        try await withTestPool(maxConnections: 2) { pool, _ in
            try await pool.query("CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)")
            try await pool.query("INSERT INTO accounts VALUES (1, 100)")
            let error = await expectPostgresError {
                try await pool.withTransaction(isolation: .repeatableRead) { connection in
                    _ = try await connection.query("SELECT balance FROM accounts WHERE id = 1")  // takes the snapshot
                    try await pool.query("UPDATE accounts SET balance = 50 WHERE id = 1")  // another connection commits
                    try await connection.query("UPDATE accounts SET balance = balance + 1 WHERE id = 1")
                }
            }
            #expect(error?.sqlState == .serializationFailure)
            #expect(error?.sqlState?.isRetryableTransactionFailure == true)
            let balance = try await pool.query("SELECT balance FROM accounts WHERE id = 1")[0].decode(0, as: Int.self)
            #expect(balance == 50)
        }
    }

    @Test("serializable isolation is what the transaction runs with")
    func isolationLevels() async throws {
        try await withTestPool { pool, _ in
            for (level, expected) in [(PostgresIsolationLevel.readCommitted, "read committed"), (.repeatableRead, "repeatable read"), (.serializable, "serializable")] {
                let shown = try await pool.withTransaction(isolation: level) { connection in
                    try await connection.query("SHOW transaction_isolation")[0].decode(0, as: String.self)
                }
                #expect(shown == expected)
            }
        }
    }

    @Test("a connection returned inside an open transaction is discarded, not reused")
    func leakedTransaction() async throws {
        try await withTestPool(maxConnections: 1) { pool, _ in
            let leakedPID = try await pool.withConnection { connection in
                try await connection.query("BEGIN")
                return connection.backendPID
            }
            let nextPID = try await pool.withConnection { connection in
                #expect(!connection.isInTransaction)
                return connection.backendPID
            }
            #expect(nextPID != leakedPID)
            #expect(pool.statistics.connectionsOpened == 2)
        }
    }
}
