import Foundation
import Providers
import Synchronization

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

    private struct Cached { var snapshot: Snapshot; var loadedAt: ContinuousClock.Instant }

    let store: ProviderStore
    let maximumAge: Duration
    private let cache = Mutex<Cached?>(nil)

    public init(store: ProviderStore, maximumAge: Duration = .seconds(2)) {
        self.store = store
        self.maximumAge = maximumAge
    }

    public func invalidate() { cache.withLock { $0 = nil } }

    public func snapshot() async throws -> Snapshot {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0 }), now - cached.loadedAt < maximumAge { return cached.snapshot }
        let all = try await store.all()
        var routes: [Route] = []
        for provider in all where provider.enabled && !provider.isBroken {
            // A provider whose secrets do not open, or whose config no longer builds (edited by
            // hand), is skipped, not fatal: the others keep sending.
            if provider.type == .outbox {
                routes.append(Route(provider: provider, adapter: nil))
            } else if let adapter = try? ProviderAdapters.make(type: provider.type, config: provider.config) {
                routes.append(Route(provider: provider, adapter: adapter))
            }
        }
        let snapshot = Snapshot(routes: routes, noneConfigured: all.isEmpty)
        cache.withLock { $0 = Cached(snapshot: snapshot, loadedAt: now) }
        return snapshot
    }
}
