import Foundation
import SMS
import Logging
import Providers

/// Reads and changes the settings document. Each top-level key is one row of `settings`;
/// what is not stored takes its default. Reads are cached briefly: the dispatcher and the
/// webhook handlers consult settings on every batch.
public final class SettingsService: Sendable {
    let store: SettingsStore
    /// Where `events_url` may point (no metadata or link-local; private only when allowed).
    let urlPolicy: OutboundURLPolicy
    let logger: Logger
    /// The whole document under one key: the dispatcher and webhooks read it per batch.
    private let cache: TTLCache<Int, Settings>

    init(store: SettingsStore, urlPolicy: OutboundURLPolicy, logger: Logger, maximumAge: Duration = .seconds(2)) {
        self.store = store
        self.urlPolicy = urlPolicy
        self.logger = logger
        self.cache = TTLCache(maximumAge: maximumAge, capacity: 1)
    }

    public func current() async throws -> Settings {
        try await cache.value(for: 0) { [store, logger] in
            var document = Settings().json
            for (key, value) in try await store.stored() where document[key] != nil {
                document[key] = value
            }
            do { return try Settings(json: document) }
            catch {
                // A stored value that no longer validates (edited by hand) must not stop sending.
                logger.error("stored settings are invalid; using defaults for now", metadata: ["error": "\(error)"])
                return Settings()
            }
        }
    }

    /// Merges `patch` into the document, validates all of it, stores what changed.
    public func update(_ patch: [String: JSONValue], actor: String) async throws -> Settings {
        let before = try await current()
        let after = try before.merged(with: patch)
        if let url = after.eventsURL, patch["events_url"] != nil { try urlPolicy.check(url, field: "events_url") }
        let old = before.json, new = after.json
        let changed = new.filter { old[$0.key] != $0.value }
        try await store.save(changed)
        cache.removeAll()
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
