import Foundation
import Postgres
import PostgresTestSupport
import Testing

private actor Counter {
    var value = 0
    func increment() { value += 1 }
}

@Suite("The test harness")
struct TestClusterTests {
    @Test("a template is set up once, however many tests ask at the same time, and clones carry its schema")
    func templates() async throws {
        let cluster = try await TestCluster.shared()
        let setups = Counter()
        let name = "harness_\(UUID().uuidString.prefix(8))"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await cluster.ensureTemplate(name) { connection in
                        await setups.increment()
                        try await connection.executeScript(unsafeSQL: """
                            CREATE TABLE schema_migrations (version int PRIMARY KEY);
                            INSERT INTO schema_migrations VALUES (1), (2);
                            """)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(await setups.value == 1)

        let clones = try await withThrowingTaskGroup(of: PostgresConfiguration.self) { group in
            for _ in 0..<3 { group.addTask { try await cluster.createDatabase(template: name) } }
            var configurations: [PostgresConfiguration] = []
            for try await configuration in group { configurations.append(configuration) }
            return configurations
        }
        let names = try Set(clones.map { try $0.parsedOptions()["dbname"] ?? "" })
        #expect(names.count == 3)
        for configuration in clones {
            let connection = try await PostgresConnection.connect(configuration, logger: quietLogger)
            let count = try await connection.query("SELECT count(*) AS n FROM schema_migrations")[0].decode("n", as: Int.self)
            #expect(count == 2)
            await connection.close()
            await cluster.dropDatabase(configuration)
        }
    }

    @Test("a failing template setup is reported to every caller")
    func failingTemplate() async throws {
        let cluster = try await TestCluster.shared()
        await #expect(throws: PostgresError.self) {
            try await cluster.ensureTemplate("broken_\(UUID().uuidString.prefix(8))") { connection in
                try await connection.executeScript(unsafeSQL: "CREATE TABLE oops (")
            }
        }
    }
}
