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
    /// Loads in flight: concurrent misses of one key wait for the same load (single flight),
    /// so a burst of requests after expiry costs one query, not one per request — which
    /// would queue hundreds of reads on a small pool.
    private let loading = Mutex<(generation: UInt64, tasks: [Key: Task<Value, any Error>])>((0, [:]))
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
    public func value(for key: Key, orLoad load: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if let cached = value(for: key) { return cached }
        let task = loading.withLock { loading -> Task<Value, any Error> in
            if let running = loading.tasks[key] { return running }
            let generation = loading.generation
            let task = Task<Value, any Error> {
                let loaded: Value
                do { loaded = try await load() } catch {
                    self.finish(key, generation: generation, storing: nil)
                    throw error
                }
                self.finish(key, generation: generation, storing: loaded)
                return loaded
            }
            loading.tasks[key] = task
            return task
        }
        return try await task.value
    }

    /// A load ended: stored unless the cache was invalidated meanwhile (a change made in this
    /// process while the load read the old value must not be overwritten by it).
    private func finish(_ key: Key, generation: UInt64, storing value: Value?) {
        let current = loading.withLock { loading -> Bool in
            guard loading.generation == generation else { return false }
            loading.tasks[key] = nil
            return true
        }
        if current, let value { set(value, for: key) }
    }

    /// Invalidation: later reads load afresh and never join a load that began before it.
    private func invalidate() {
        loading.withLock { loading in
            loading.generation &+= 1
            loading.tasks.removeAll()
        }
    }

    public func remove(_ key: Key) {
        invalidate()
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }

    public func removeAll() {
        invalidate()
        entries.withLock { $0.removeAll() }
    }
}
