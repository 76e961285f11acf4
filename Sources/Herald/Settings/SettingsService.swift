import Foundation
import SMS
import Logging
import Postgres
import Providers
import Synchronization

/// Reads and changes the settings document. Each top-level key is one row of `settings`;
/// what is not stored takes its default. Reads are cached briefly: the dispatcher and the
/// webhook handlers consult settings on every batch.
public final class SettingsService: Sendable {
    let pool: PostgresPool
    let logger: Logger
    let maximumAge: Duration
    private let cache = Mutex<(settings: Settings, loadedAt: ContinuousClock.Instant)?>(nil)

    public init(pool: PostgresPool, logger: Logger, maximumAge: Duration = .seconds(2)) {
        self.pool = pool
        self.logger = logger
        self.maximumAge = maximumAge
    }

    public func current() async throws -> Settings {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0 }), now - cached.loadedAt < maximumAge { return cached.settings }
        let rows = try await pool.query("SELECT key, value FROM settings")
        var document = Settings().json
        for row in rows {
            let key: String = try row.decode("key")
            guard document[key] != nil else { continue }
            document[key] = try row.decodeJSON("value", as: JSONValue.self)
        }
        let settings: Settings
        do { settings = try Settings(json: document) }
        catch {
            // A stored value that no longer validates (edited by hand) must not stop sending.
            logger.error("stored settings are invalid; using defaults for now", metadata: ["error": "\(error)"])
            settings = Settings()
        }
        cache.withLock { $0 = (settings, now) }
        return settings
    }

    /// Merges `patch` into the document, validates all of it, stores what changed.
    public func update(_ patch: [String: JSONValue], actor: String) async throws -> Settings {
        let before = try await current()
        let after = try before.merged(with: patch)
        let old = before.json, new = after.json
        let changed = new.filter { old[$0.key] != $0.value }
        try await pool.withTransaction { connection in
            for (key, value) in changed {
                try await connection.query(
                    """
                    INSERT INTO settings (key, value) VALUES (\(key), \(PostgresJSON(value)))
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
                    """)
            }
        }
        cache.withLock { $0 = nil }
        logger.notice("settings changed", metadata: ["settings.keys": "\(changed.keys.sorted().joined(separator: ","))", "actor": "\(actor)"])
        return after
    }

    /// The key apps verify outgoing events with (HMAC-SHA256), derived from HERALD_SECRET.
    public static func eventsSigningSecret(_ secret: ServerSecret) -> String {
        secret.derivedKey(purpose: "herald.events.v1").withUnsafeBytes { bytes in
            "whsec_" + Data(bytes).base64EncodedString()
        }
    }
}
