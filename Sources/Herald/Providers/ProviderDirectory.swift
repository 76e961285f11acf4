import Foundation
import Providers

/// A provider ready to send: its row and its adapter (nil for `outbox`).
public struct Route: Sendable {
    public let provider: Provider
    public let adapter: (any ProviderAdapter)?

    /// The built-in outbox, used when no provider is configured at all.
    public static let builtInOutbox = Route(
        provider: Provider(id: UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, name: "outbox", type: .outbox,
                           config: ProviderConfig(), priority: 0, countries: [], ratePerSecond: nil, enabled: true,
                           webhookToken: "", createdAt: Date(timeIntervalSince1970: 0), updatedAt: Date(timeIntervalSince1970: 0)),
        adapter: nil)

    public var isBuiltInOutbox: Bool { provider.id == Self.builtInOutbox.provider.id }
    /// The id stored on messages: none for the built-in outbox.
    public var storedID: UUID? { isBuiltInOutbox ? nil : provider.id }
}

/// Enabled providers in routing order, loaded from the database and cached briefly, so the
/// dispatcher routes a batch without a query per message; broken ones are left out. Changes
/// made through this process show at once (`invalidate()`); other processes see them within
/// `maximumAge`.
public final class ProviderDirectory: Sendable {
    public struct Snapshot: Sendable {
        /// Enabled, working providers by priority.
        public let routes: [Route]
        /// True when no provider exists at all: everything goes to the built-in outbox. A
        /// broken provider still counts as one: its messages are not quietly kept in the outbox.
        public let noneConfigured: Bool

        /// Candidates for a destination, best first: a pinned provider leads when it serves it.
        public func routes(country: String?, pinned: UUID?) -> [Route] {
            if noneConfigured { return [.builtInOutbox] }
            var candidates = routes.filter { $0.provider.serves(country: country) }
            if let pinned, let index = candidates.firstIndex(where: { $0.provider.id == pinned }) {
                candidates.insert(candidates.remove(at: index), at: 0)
            }
            return candidates
        }
    }

    let store: ProviderStore
    private let snapshots: TTLCache<Int, Snapshot>
    /// Providers by id with their adapters, for webhook checks: receipts arrive at the
    /// sending rate, and each would otherwise cost a query and a decryption.
    private let byID: TTLCache<UUID, Route>

    public init(store: ProviderStore, maximumAge: Duration = .seconds(2)) {
        self.store = store
        self.snapshots = TTLCache(maximumAge: maximumAge, capacity: 1)
        self.byID = TTLCache(maximumAge: maximumAge)
    }

    /// Forgets everything cached: called on every provider change in this process, so a
    /// deleted provider or a rotated secret is not honoured after the change.
    public func invalidate() {
        snapshots.removeAll()
        byID.removeAll()
    }

    public func snapshot() async throws -> Snapshot {
        try await snapshots.value(for: 0) { [store] in
            let all = try await store.all()
            var routes: [Route] = []
            for provider in all where provider.enabled && !provider.isBroken {
                // A provider whose secrets do not open, or whose config no longer builds (edited
                // by hand), is skipped, not fatal: the others keep sending.
                if provider.type == .outbox {
                    routes.append(Route(provider: provider, adapter: nil))
                } else if let adapter = try? ProviderAdapters.make(type: provider.type, config: provider.config) {
                    routes.append(Route(provider: provider, adapter: adapter))
                }
            }
            return Snapshot(routes: routes, noneConfigured: all.isEmpty)
        }
    }

    /// A provider (enabled or not) with its adapter, for checking its webhooks. Nil when no
    /// such provider exists or it takes no webhooks (outbox); `invalidSignature` when its
    /// configuration cannot check them.
    func webhookRoute(id: UUID) async throws -> Route? {
        if let cached = byID.value(for: id) { return cached }
        guard let provider = try await store.provider(id: id), provider.type != .outbox else { return nil }
        let adapter: any ProviderAdapter
        do { adapter = try ProviderAdapters.make(type: provider.type, config: provider.config) }
        catch { throw HeraldError(.invalidSignature, "this provider's configuration cannot check webhooks") }
        let route = Route(provider: provider, adapter: adapter)
        byID.set(route, for: id)
        return route
    }
}
