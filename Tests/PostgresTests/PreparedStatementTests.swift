import Foundation
import Postgres
import PostgresTestSupport
import Testing

private func preparedCount(_ connection: PostgresConnection) async throws -> Int {
    try await connection.query("SELECT count(*) AS n FROM pg_prepared_statements")[0].decode("n", as: Int.self)
}

@Suite("Prepared statements")
struct PreparedStatementTests {
    @Test("a statement run twice is prepared and keeps returning the right rows")
    func repeated() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE contacts (id int8 PRIMARY KEY, phone text)")
            for id in 1...5 {
                try await connection.query("INSERT INTO contacts (id, phone) VALUES (\(id), \("+1555000000\(id)"))")
            }
            #expect(try await preparedCount(connection) >= 1)
            for id in 1...5 {
                let rows = try await connection.query("SELECT id, phone FROM contacts WHERE id = \(id)")
                #expect(try rows[0].decode((Int, String).self) == (id, "+1555000000\(id)"))
            }
            // The same SQL with other parameter types is not confused with the prepared one.
            let rows = try await connection.query("SELECT id, phone FROM contacts WHERE id = \(Int32(3))")
            #expect(try rows[0].decode("id", as: Int.self) == 3)
        }
    }

    @Test("a table changed under a prepared SELECT * is handled by running the statement again")
    func resultTypeChanged() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE t (a int)")
            try await connection.query("INSERT INTO t VALUES (1)")
            for _ in 0..<3 { try await connection.query("SELECT * FROM t") }
            try await connection.query("ALTER TABLE t ADD COLUMN b text DEFAULT 'x'")
            let rows = try await connection.query("SELECT * FROM t")
            #expect(rows.columns == ["a", "b"])
            #expect(try rows[0].decode("b", as: String.self) == "x")
        }
    }

    @Test("DISCARD ALL on the connection does not break later statements")
    func discardAll() async throws {
        try await withTestConnection { connection in
            for _ in 0..<3 { try await connection.query("SELECT \(1) AS one") }
            try await connection.executeScript(unsafeSQL: "DISCARD ALL")
            #expect(try await preparedCount(connection) == 0)
            let rows = try await connection.query("SELECT \(1) AS one")
            #expect(try rows[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test("a statement that fails to prepare reports its error every time")
    func failingStatement() async throws {
        try await withTestConnection { connection in
            for _ in 0..<3 {
                let error = await expectPostgresError { try await connection.query("SELECT * FROM not_there WHERE id = \(1)") }
                #expect(error?.sqlState == .undefinedTable)
            }
            try await connection.query("CREATE TABLE not_there (id int8)")
            for _ in 0..<3 {
                let rows = try await connection.query("SELECT * FROM not_there WHERE id = \(1)")
                #expect(rows.isEmpty)
            }
        }
    }

    @Test("a capacity of 0 never prepares")
    func disabled() async throws {
        let cluster = try await TestCluster.shared()
        try await cluster.withDatabase { configuration in
            var uncached = configuration
            uncached.statementCacheCapacity = 0
            let connection = try await PostgresConnection.connect(uncached, logger: quietLogger)
            for _ in 0..<3 { try await connection.query("SELECT \(1) AS one") }
            #expect(try await preparedCount(connection) == 0)
            await connection.close()
        }
    }
}
