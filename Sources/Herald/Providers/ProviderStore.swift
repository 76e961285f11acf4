import Foundation
import SMS
import Postgres
import Providers

/// All SQL of providers. Secret config values live sealed in `secrets`; `config` holds the rest.
public struct ProviderStore: Sendable {
    let pool: PostgresPool
    let box: SecretBox

    public init(pool: PostgresPool, secret: ServerSecret) {
        self.pool = pool
        self.box = SecretBox(secret: secret)
    }

    static let columns: PostgresQuery = """
        id, name, type, config, secrets, priority, countries, rate_per_second, enabled, webhook_token, created_at, updated_at
        """

    /// A row as a provider. Secrets that do not open make it `broken` (secrets absent) rather
    /// than an error: one such row must not stop every list, every read and all sending.
    func decode(_ row: PostgresRow) throws -> Provider {
        let id: UUID = try row.decode("id")
        let type: ProviderType = try UnknownValue.parse(try row.decode("type"))
        var values: [String: JSONValue] = try row.decodeJSON("config")
        var state = Provider.State.ok
        if let sealed: [UInt8] = try row.decode("secrets") {
            do {
                for (key, value) in try box.open(sealed, providerID: id) { values[key] = value }
            } catch is ProviderSecretsError {
                state = .broken(.secretsUnreadable)
            }
        }
        return Provider(
            id: id, name: try row.decode("name"), type: type, config: ProviderConfig(values),
            priority: try row.decode("priority"), countries: try row.decode("countries"),
            ratePerSecond: try row.decode("rate_per_second"), enabled: try row.decode("enabled"),
            webhookToken: try row.decode("webhook_token"), createdAt: try row.decode("created_at"),
            updatedAt: try row.decode("updated_at"), state: state)
    }

    private func split(_ provider: Provider) throws -> (plain: [String: JSONValue], sealed: [UInt8]?) {
        let secretKeys = ProviderConfigSpec.of(provider.type).secrets
        let plain = provider.config.values.filter { !secretKeys.contains($0.key) }
        let secret = provider.config.values.filter { secretKeys.contains($0.key) }
        return (plain, secret.isEmpty ? nil : try box.seal(secret, providerID: provider.id))
    }

    public func insert(_ provider: Provider) async throws -> Provider {
        let (plain, sealed) = try split(provider)
        do {
            let rows = try await pool.query(
                """
                INSERT INTO providers (id, name, type, config, secrets, priority, countries, rate_per_second, enabled, webhook_token)
                VALUES (\(provider.id), \(provider.name), \(provider.type.rawValue), \(PostgresJSON(plain)), \(sealed.map { Data($0) }),
                        \(provider.priority), \(provider.countries), \(provider.ratePerSecond), \(provider.enabled), \(provider.webhookToken))
                RETURNING \(Self.columns)
                """)
            return try decode(rows[0])
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw HeraldError(.alreadyExists, "a provider with this name already exists", field: "name")
        }
    }

    /// Writes `provider` over its row. A `broken` provider has no secrets to write: its sealed
    /// secrets stay as they are (they open again if the old `HERALD_SECRET` comes back); an
    /// `ok` one replaces them, which is how a broken provider is repaired.
    public func update(_ provider: Provider) async throws -> Provider? {
        let (plain, sealed) = try split(provider)
        do {
            let rows = try await pool.query(
                """
                UPDATE providers SET name = \(provider.name), config = \(PostgresJSON(plain)),
                    secrets = CASE WHEN \(provider.isBroken) THEN secrets ELSE \(sealed.map { Data($0) }) END,
                    priority = \(provider.priority), countries = \(provider.countries), rate_per_second = \(provider.ratePerSecond),
                    enabled = \(provider.enabled), updated_at = now()
                WHERE id = \(provider.id)
                RETURNING \(Self.columns)
                """)
            return try rows.first.map(decode)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw HeraldError(.alreadyExists, "a provider with this name already exists", field: "name")
        }
    }

    /// A provider to act for (webhooks, tests): one whose secrets do not open throws
    /// `secrets_unreadable`, so nothing is checked or sent with a configuration missing them.
    public func provider(id: UUID) async throws -> Provider? {
        guard let provider = try await stored(id: id) else { return nil }
        if let error = provider.brokenError { throw error }
        return provider
    }

    /// A provider as stored, `broken` or not: for the admin API, which shows and repairs it.
    public func stored(id: UUID) async throws -> Provider? {
        let rows = try await pool.query("SELECT \(Self.columns) FROM providers WHERE id = \(id)")
        return try rows.first.map(decode)
    }

    /// Every provider, in routing order (priority, then age); broken ones included, with their
    /// `state` saying so.
    public func all() async throws -> [Provider] {
        let rows = try await pool.query("SELECT \(Self.columns) FROM providers ORDER BY priority, created_at, id")
        return try rows.map(decode)
    }

    public func delete(id: UUID) async throws -> Bool {
        try await pool.query("DELETE FROM providers WHERE id = \(id) RETURNING id").count == 1
    }

    /// Reserves up to `count` sends in the current second of a provider limited to `rate`
    /// per second, across every process. Returns how many were granted.
    public func reserve(providerID: UUID, second: Int64, count: Int, rate: Int) async throws -> Int {
        let rows = try await pool.query(
            """
            INSERT INTO provider_rate_windows (provider_id, second, used) VALUES (\(providerID), \(second), \(count))
            ON CONFLICT (provider_id, second) DO UPDATE SET used = provider_rate_windows.used + excluded.used
            RETURNING used
            """)
        let used: Int = try rows[0].decode(0)
        let before = used - count
        return max(0, min(count, rate - before))
    }

    public func purgeRateWindows(before second: Int64) async throws {
        try await pool.query("DELETE FROM provider_rate_windows WHERE second < \(second)")
    }
}
