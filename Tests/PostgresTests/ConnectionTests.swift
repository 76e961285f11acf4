import Foundation
import Logging
import Postgres
import PostgresTestSupport
import Testing

@Suite("A connection")
struct ConnectionTests {
    @Test("a statement past its timeout is cancelled with .timeout and the connection still works")
    func timeout() async throws {
        try await withTestConnection { connection in
            let started = ContinuousClock.now
            let error = await expectPostgresError {
                try await connection.query("SELECT pg_sleep(10)", timeout: .milliseconds(200))
            }
            #expect(error?.code == .timeout)
            #expect(error?.sqlState == .queryCanceled)
            #expect(started.duration(to: .now) < .seconds(8), "well before the 10 s sleep ends")
            #expect(!connection.isClosed)
            let rows = try await connection.query("SELECT \(41) + 1 AS answer")
            #expect(try rows[0].decode("answer", as: Int.self) == 42)
        }
    }

    @Test("cancelling the calling task cancels the statement and leaves the connection usable")
    func taskCancellation() async throws {
        try await withTestConnection { connection in
            let task = Task { try await connection.query("SELECT pg_sleep(10)") }
            try await Task.sleep(for: .milliseconds(150))
            let started = ContinuousClock.now
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(started.duration(to: .now) < .seconds(8), "well before the 10 s sleep ends")
            let rows = try await connection.query("SELECT 1 AS one")
            #expect(try rows[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test("a unique violation exposes SQLSTATE 23505 and the constraint, not the duplicate value")
    func uniqueViolation() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE contacts (id serial PRIMARY KEY, phone text NOT NULL CONSTRAINT contacts_phone_key UNIQUE)")
            let phone = "+15557654321"
            try await connection.query("INSERT INTO contacts (phone) VALUES (\(phone))")
            let error = await expectPostgresError {
                try await connection.query("INSERT INTO contacts (phone) VALUES (\(phone))")
            }
            #expect(error?.code == .server)
            #expect(error?.sqlState == .uniqueViolation)
            #expect(error?.sqlState?.isIntegrityConstraintViolation == true)
            #expect(error?.constraint == "contacts_phone_key")
            #expect(error?.table == "contacts")
            let description = error?.description ?? ""
            #expect(description.contains("23505"))
            #expect(description.contains("contacts_phone_key"))
            #expect(!description.contains("7654321"))
            let debug = error.map { String(reflecting: $0) } ?? ""
            #expect(debug.contains("7654321"))  // the detail, for debugging only
            #expect(debug.contains("INSERT INTO contacts (phone) VALUES ($1)"))

            let notNull = await expectPostgresError {
                try await connection.query("INSERT INTO contacts (phone) VALUES (\(String?.none))")
            }
            #expect(notNull?.sqlState == .notNullViolation)
        }
    }

    @Test("server errors keep SQLSTATE, and data-bearing messages stay out of the description")
    func serverErrors() async throws {
        try await withTestConnection { connection in
            let missing = await expectPostgresError { try await connection.query("SELECT * FROM no_such_table") }
            #expect(missing?.sqlState == .undefinedTable)
            #expect(missing?.description.contains("no_such_table") == true)  // class 42 names objects only

            let syntax = await expectPostgresError { try await connection.query("SELEC 1") }
            #expect(syntax?.sqlState == .syntaxError)

            let secret = "not-a-number-4111111111111111"
            let invalid = await expectPostgresError { try await connection.query("SELECT \(secret)::int4") }
            #expect(invalid?.sqlState == .invalidTextRepresentation)
            #expect(invalid?.description.contains("4111111111111111") == false)
            #expect(invalid.map { String(reflecting: $0) }?.contains("4111111111111111") == true)

            let rows = try await connection.query("SELECT 1 AS ok")
            #expect(rows.count == 1)
        }
    }

    @Test("executeScript runs several statements and reports the first failure")
    func script() async throws {
        try await withTestConnection { connection in
            try await connection.executeScript(unsafeSQL: """
                CREATE TABLE a (id int);
                INSERT INTO a VALUES (1), (2);
                CREATE TABLE b (id int);
                """)
            let count = try await connection.query("SELECT count(*) AS n FROM a")[0].decode("n", as: Int.self)
            #expect(count == 2)
            let error = await expectPostgresError {
                try await connection.executeScript(unsafeSQL: "INSERT INTO a VALUES (3); SELECT * FROM missing; INSERT INTO a VALUES (4);")
            }
            #expect(error?.sqlState == .undefinedTable)
            // A failing script is one implicit transaction: nothing of it stays.
            let after = try await connection.query("SELECT count(*) AS n FROM a")[0].decode("n", as: Int.self)
            #expect(after == 2)
        }
    }

    @Test("LISTEN/NOTIFY delivers payloads across connections until UNLISTEN")
    func listenNotify() async throws {
        let cluster = try await TestCluster.shared()
        try await cluster.withDatabase { configuration in
            let listener = try await PostgresConnection.connect(configuration, logger: quietLogger)
            let sender = try await PostgresConnection.connect(configuration, logger: quietLogger)
            let channel = "Herald \"events\".v1"  // mixed case, spaces and quotes are quoted, not spliced
            let stream = try await listener.listen(channel)
            try await sender.notify(channel, payload: "first ✉️")
            try await sender.query("SELECT pg_notify(\(channel), \("second"))")
            try await sender.notify("some other channel", payload: "ignored")

            var iterator = stream.makeAsyncIterator()
            let first = try await iterator.next()
            let second = try await iterator.next()
            #expect(first?.channel == channel)
            #expect(first?.payload == "first ✉️")
            #expect(first?.backendPID == sender.backendPID)
            #expect(second?.payload == "second")

            try await listener.unlisten(channel)
            #expect(try await iterator.next() == nil)

            let invalid = await expectPostgresError { _ = try await listener.listen("") }
            #expect(invalid?.code == .listenFailed)
            let tooLong = await expectPostgresError { _ = try await listener.listen(String(repeating: "x", count: 64)) }
            #expect(tooLong?.code == .listenFailed)

            await listener.close()
            await sender.close()
        }
    }

    @Test("a listener's stream ends with an error when its connection is terminated")
    func listenerSeesConnectionLoss() async throws {
        let cluster = try await TestCluster.shared()
        try await cluster.withDatabase { configuration in
            let listener = try await PostgresConnection.connect(configuration, logger: quietLogger)
            let admin = try await PostgresConnection.connect(configuration, logger: quietLogger)
            let stream = try await listener.listen("jobs")
            try await admin.query("SELECT pg_terminate_backend(\(listener.backendPID))")
            var iterator = stream.makeAsyncIterator()
            do {
                _ = try await iterator.next()
                Issue.record("expected the stream to fail")
            } catch let error as PostgresError {
                #expect(error.code == .connectionLost)
            }
            #expect(try await eventually { listener.isClosed })
            await listener.close()
            await admin.close()
        }
    }

    @Test("connecting to a socket with no server fails with .connectionFailed")
    func serverDown() async throws {
        let directory = try TestCluster.makeScratchDirectory()
        let configuration = PostgresConfiguration(conninfo: "host=\(directory) port=1 user=postgres dbname=postgres")
        let error = await expectPostgresError { _ = try await PostgresConnection.connect(configuration, logger: quietLogger) }
        #expect(error?.code == .connectionFailed)
        let refused = await expectPostgresError {
            _ = try await PostgresConnection.connect(
                PostgresConfiguration(conninfo: "postgres://postgres@127.0.0.1:1/postgres"), logger: quietLogger)
        }
        #expect(refused?.code == .connectionFailed)
    }

    @Test("an unknown user or database fails with .connectionFailed and a redacted description")
    func badUserOrDatabase() async throws {
        let cluster = try await TestCluster.shared()
        let options = try cluster.adminConfiguration.parsedOptions()
        var pairs = options.filter { $0.key != "user" && $0.key != "dbname" }.map { "\($0.key)='\($0.value)'" }
        pairs.append("user='mallory_no_such_role'")
        let badUser = PostgresConfiguration(conninfo: pairs.joined(separator: " "))
        let error = await expectPostgresError { _ = try await PostgresConnection.connect(badUser, logger: quietLogger) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.description.contains("mallory") == false)
        #expect(error.map { String(reflecting: $0) }?.contains("mallory_no_such_role") == true)

        let badDatabase = cluster.adminConfiguration.withDatabase("no_such_database_zz")
        let dbError = await expectPostgresError { _ = try await PostgresConnection.connect(badDatabase, logger: quietLogger) }
        #expect(dbError?.code == .connectionFailed)
        #expect(dbError?.description.contains("no_such_database_zz") == false)
    }

    @Test("application_name is herald unless the conninfo sets one")
    func applicationName() async throws {
        let cluster = try await TestCluster.shared()
        try await cluster.withDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration, logger: quietLogger)
            #expect(try await connection.query("SHOW application_name")[0].decode(0, as: String.self) == "herald")
            await connection.close()

            let custom = PostgresConfiguration(conninfo: configuration.conninfo + " application_name='dispatcher'")
            let named = try await PostgresConnection.connect(custom, logger: quietLogger)
            #expect(try await named.query("SHOW application_name")[0].decode(0, as: String.self) == "dispatcher")
            await named.close()
        }
    }

    @Test("operations on a closed connection fail with .connectionClosed")
    func closed() async throws {
        let cluster = try await TestCluster.shared()
        try await cluster.withDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration, logger: quietLogger)
            await connection.close()
            #expect(connection.isClosed)
            let error = await expectPostgresError { try await connection.query("SELECT 1") }
            #expect(error?.code == .connectionClosed)
            await connection.close()  // idempotent
        }
    }

    @Test("concurrent callers on one connection are served one statement at a time")
    func serialized() async throws {
        try await withTestConnection { connection in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for value in 0..<50 {
                    group.addTask { try await connection.query("SELECT \(value) AS v")[0].decode("v", as: Int.self) }
                }
                var sum = 0
                for try await value in group { sum += value }
                #expect(sum == (0..<50).reduce(0, +))
            }
        }
    }

    @Test("bound values never reach the logs, even at trace level")
    func logsNeverContainValues() async throws {
        let cluster = try await TestCluster.shared()
        try await cluster.withDatabase { configuration in
            let capture = TestLogCapture()
            let connection = try await PostgresConnection.connect(configuration, logger: capture.logger())
            let phone = "+15550001111"
            try await connection.query("SELECT \(phone) AS p")
            _ = try? await connection.query("SELECT \(phone)::int4")
            await connection.close()
            #expect(!capture.entries.isEmpty)
            #expect(capture.entries.allSatisfy { !$0.rendered.contains("5550001111") })
            #expect(capture.entries.contains { $0.rendered.contains("SELECT $1 AS p") })
        }
    }
}
