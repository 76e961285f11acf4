import Synchronization

/// A small cache whose entries live `maximumAge`, for hot reads that may be a moment stale
/// (settings, provider routes, webhook providers): each would otherwise cost a query per
/// message. Changes made through this process invalidate it at once; other processes see
/// them within `maximumAge`. The one cache of its kind in Herald.
///
/// Ages are measured on the monotonic clock: cache freshness is not business time.
public final class TTLCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry { var value: Value; var storedAt: ContinuousClock.Instant }
    private let entries = Mutex<[Key: Entry]>([:])
    public let maximumAge: Duration
    /// Past this many entries the cache starts over rather than grow without bound.
    public let capacity: Int

    public init(maximumAge: Duration, capacity: Int = 1000) {
        self.maximumAge = maximumAge
        self.capacity = capacity
    }

    public func value(for key: Key) -> Value? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard ContinuousClock.now - entry.storedAt < maximumAge else {
                entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    public func set(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(value: value, storedAt: .now)
        }
    }

    /// The cached value, or `load()`'s (stored for next time).
    public func value(for key: Key, orLoad load: () async throws -> Value) async rethrows -> Value {
        if let cached = value(for: key) { return cached }
        let loaded = try await load()
        set(loaded, for: key)
        return loaded
    }

    public func remove(_ key: Key) { _ = entries.withLock { $0.removeValue(forKey: key) } }

    public func removeAll() { entries.withLock { $0.removeAll() } }
}
