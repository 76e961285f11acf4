import Foundation
import Postgres
import SMS

/// All SQL of the settings document: one row per top-level key; what is not stored takes
/// its default.
struct SettingsStore: Sendable {
    let pool: PostgresPool

    /// The stored top-level values by key.
    func stored() async throws -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for row in try await pool.query("SELECT key, value FROM settings") {
            values[try row.decode("key")] = try row.decodeJSON("value", as: JSONValue.self)
        }
        return values
    }

    /// Stores the changed top-level values in one transaction: all or nothing.
    func save(_ changed: [String: JSONValue]) async throws {
        guard !changed.isEmpty else { return }
        try await pool.withTransaction { connection in
            for (key, value) in changed.sorted(by: { $0.key < $1.key }) {
                try await connection.query(
                    """
                    INSERT INTO settings (key, value) VALUES (\(key), \(PostgresJSON(value)))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
                    """)
            }
        }
    }
}
