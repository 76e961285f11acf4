import Foundation
import Herald
import Postgres
import PostgresTestSupport
import Testing

@Suite("Migrations")
struct MigrationTests {
    let first = Migration(version: 1, name: "one", sql: "CREATE TABLE one (id int)")
    let second = Migration(version: 2, name: "two", sql: "CREATE TABLE two (id int)")

    @Test("file names are NNNN_name.sql, nothing else")
    func fileNames() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mig-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "SELECT 1".write(toFile: dir + "/0002_b.sql", atomically: true, encoding: .utf8)
        try "SELECT 1".write(toFile: dir + "/0001_a.sql", atomically: true, encoding: .utf8)
        try "notes".write(toFile: dir + "/README.md", atomically: true, encoding: .utf8)
        #expect(try Migration.load(from: dir).map(\.version) == [1, 2])

        try "SELECT 1".write(toFile: dir + "/3_c.sql", atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.badFileName("3_c.sql")) { try Migration.load(from: dir) }
        try FileManager.default.removeItem(atPath: dir + "/3_c.sql")

        try "SELECT 1".write(toFile: dir + "/0002_again.sql", atomically: true, encoding: .utf8)
        #expect(throws: MigrationError.self) { try Migration.load(from: dir) }
    }

    @Test("the shipped migrations load in order")
    func shipped() throws {
        let migrations = try Migration.load(from: repositoryRoot + "/migrations")
        #expect(migrations.first?.version == 1)
        #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
    }

    @Test("the planner runs only what is pending")
    func pending() throws {
        let applied = [AppliedMigration(version: 1, name: "one", checksum: first.checksum)]
        #expect(try MigrationPlanner.pending(available: [first, second], applied: applied) == [second])
        #expect(try MigrationPlanner.pending(available: [first, second], applied: []) == [first, second])
    }

    @Test("a changed applied file is refused")
    func changed() {
        let applied = [AppliedMigration(version: 1, name: "one", checksum: "0000")]
        #expect(throws: MigrationError.checksumMismatch(version: 1, name: "one")) {
            try MigrationPlanner.pending(available: [first, second], applied: applied)
        }
    }

    @Test("a migration unknown to this build is refused")
    func unknown() {
        let applied = [AppliedMigration(version: 9, name: "future", checksum: "x")]
        #expect(throws: MigrationError.unknownApplied(version: 9, name: "future")) {
            try MigrationPlanner.pending(available: [first], applied: applied)
        }
    }

    @Test("several processes migrating at once apply each migration once")
    func concurrent() async throws {
        let cluster = try await TestCluster.shared()
        let database = try await cluster.createDatabase()
        defer { Task { await cluster.dropDatabase(database) } }
        let pool = PostgresPool(configuration: database, maxConnections: 8, logger: testLogger)
        let migrator = try Migrator(directory: repositoryRoot + "/migrations", logger: testLogger)
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 { group.addTask { try await migrator.migrate(pool) } }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied.sorted() == migrator.migrations.map(\.version))
        let rows = try await pool.query("SELECT count(*) AS n FROM schema_migrations")
        #expect(try rows[0].decode("n", as: Int.self) == migrator.migrations.count)
        // Running again is a no-op.
        #expect(try await migrator.migrate(pool).isEmpty)
        await pool.close()
    }

    @Test("a failing migration leaves nothing half-applied")
    func failing() async throws {
        let cluster = try await TestCluster.shared()
        let database = try await cluster.createDatabase()
        defer { Task { await cluster.dropDatabase(database) } }
        let pool = PostgresPool(configuration: database, maxConnections: 2, logger: testLogger)
        let broken = Migration(version: 2, name: "broken", sql: "CREATE TABLE half (id int); SELECT no_such_function();")
        await #expect(throws: PostgresError.self) {
            try await Migrator(migrations: [first, broken], logger: testLogger).migrate(pool)
        }
        let tables = try await pool.query("SELECT to_regclass('half') IS NULL AS gone, to_regclass('one') IS NOT NULL AS kept")
        #expect(try tables[0].decode("gone", as: Bool.self))
        #expect(try tables[0].decode("kept", as: Bool.self))
        let versions = try await pool.query("SELECT version FROM schema_migrations")
        #expect(try versions.map { try $0.decode("version", as: Int.self) } == [1])
        await pool.close()
    }

    @Test("a database changed under an applied migration refuses to start")
    func refusesChangedFile() async throws {
        let cluster = try await TestCluster.shared()
        let database = try await cluster.createDatabase()
        defer { Task { await cluster.dropDatabase(database) } }
        let pool = PostgresPool(configuration: database, maxConnections: 2, logger: testLogger)
        try await Migrator(migrations: [first], logger: testLogger).migrate(pool)
        let edited = Migration(version: 1, name: "one", sql: "CREATE TABLE one (id bigint)")
        await #expect(throws: MigrationError.checksumMismatch(version: 1, name: "one")) {
            try await Migrator(migrations: [edited], logger: testLogger).migrate(pool)
        }
        await pool.close()
    }
}
