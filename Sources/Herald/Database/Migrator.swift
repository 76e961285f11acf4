import Crypto
import Foundation
import Logging
import Postgres

/// One numbered SQL file from `migrations/`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String
    /// Hex SHA-256 of the file's bytes, recorded when applied.
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Array(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Parses `NNNN_name.sql`; other names are not migrations.
    static func parseFileName(_ fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql") else { return nil }
        let stem = fileName.dropLast(4)
        guard let underscore = stem.firstIndex(of: "_") else { return nil }
        let digits = stem[..<underscore]
        let name = stem[stem.index(after: underscore)...]
        guard digits.count == 4, digits.allSatisfy(\.isASCII), let version = Int(digits), version > 0,
            !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        else { return nil }
        return (version, String(name))
    }

    /// Every migration in `directory`, in order. Files that look like migrations but are
    /// misnamed, and duplicate versions, are errors: a silently skipped migration is worse.
    public static func load(from directory: String) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var migrations: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            guard let (version, name) = parseFileName(file) else {
                throw MigrationError.badFileName(file)
            }
            if let clash = migrations.first(where: { $0.version == version }) {
                throw MigrationError.duplicateVersion(version, clash.name, name)
            }
            let sql = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            migrations.append(Migration(version: version, name: name, sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }
}

public enum MigrationError: Error, Sendable, Equatable, CustomStringConvertible {
    case badFileName(String)
    case duplicateVersion(Int, String, String)
    /// An applied migration's file has changed since it was applied.
    case checksumMismatch(version: Int, name: String)
    /// The database has a migration this build does not know (a newer Herald ran here).
    case unknownApplied(version: Int, name: String)

    public var description: String {
        switch self {
        case .badFileName(let file):
            "migration file '\(file)' is not named NNNN_name.sql"
        case .duplicateVersion(let version, let a, let b):
            "migrations '\(a)' and '\(b)' share the version \(version)"
        case .checksumMismatch(let version, let name):
            "migration \(version) (\(name)) was changed after it was applied; restore the file and add a new migration instead"
        case .unknownApplied(let version, let name):
            "the database has migration \(version) (\(name)), which this Herald does not know; run a newer Herald"
        }
    }
}

/// What is applied already, as recorded in `schema_migrations`.
public struct AppliedMigration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let checksum: String

    public init(version: Int, name: String, checksum: String) {
        self.version = version
        self.name = name
        self.checksum = checksum
    }
}

/// Decides which migrations to run. Pure: no I/O, tested on its own.
public enum MigrationPlanner {
    public static func pending(available: [Migration], applied: [AppliedMigration]) throws -> [Migration] {
        let known = Dictionary(uniqueKeysWithValues: available.map { ($0.version, $0) })
        for record in applied {
            guard let migration = known[record.version] else {
                throw MigrationError.unknownApplied(version: record.version, name: record.name)
            }
            guard migration.checksum == record.checksum else {
                throw MigrationError.checksumMismatch(version: record.version, name: record.name)
            }
        }
        let done = Set(applied.map(\.version))
        return available.filter { !done.contains($0.version) }
    }
}

/// Applies migrations in order, each in its own transaction, recording a checksum.
///
/// Safe when several processes start at once: the whole run holds a session advisory lock,
/// so the second process waits, then finds nothing left to do.
public struct Migrator: Sendable {
    /// `hashtext('herald.migrations')` would do too; a fixed key keeps it greppable.
    static let lockKey = 7_231_000_001

    public let migrations: [Migration]
    public let logger: Logger

    public init(migrations: [Migration], logger: Logger) {
        self.migrations = migrations
        self.logger = logger
    }

    public init(directory: String, logger: Logger) throws {
        self.init(migrations: try Migration.load(from: directory), logger: logger)
    }

    /// Applies what is pending; returns the versions applied by this call.
    @discardableResult
    public func migrate(_ pool: PostgresPool) async throws -> [Int] {
        try await pool.withConnection { connection in try await migrate(connection) }
    }

    @discardableResult
    public func migrate(_ connection: PostgresConnection) async throws -> [Int] {
        try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
        do {
            let applied = try await run(connection)
            try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))")
            return applied
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))")
            throw error
        }
    }

    private func run(_ connection: PostgresConnection) async throws -> [Int] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let rows = try await connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
        let applied = try rows.map { row in
            AppliedMigration(
                version: try row.decode("version", as: Int.self),
                name: try row.decode("name", as: String.self),
                checksum: try row.decode("checksum", as: String.self))
        }
        let pending = try MigrationPlanner.pending(available: migrations, applied: applied)
        for migration in pending {
            logger.info(
                "applying migration",
                metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
            try await connection.query("BEGIN")
            do {
                // A migration may rightly run long (an index over a big table): no statement timeout.
                try await connection.query("SET LOCAL statement_timeout = 0")
                try await connection.executeScript(unsafeSQL: migration.sql)
                try await connection.query(
                    """
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """)
                try await connection.query("COMMIT")
            } catch {
                _ = try? await connection.query("ROLLBACK")
                throw error
            }
        }
        return pending.map(\.version)
    }
}
