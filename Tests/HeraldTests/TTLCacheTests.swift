import Foundation
import Synchronization
import Testing
@testable import Herald

/// The cache of hot reads (settings, provider routes).
@Suite struct TTLCacheTests {
    final class Loads: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test("200 concurrent misses of one key share one load (a burst after expiry costs one query, not one per request)")
    func singleFlight() async throws {
        let cache = TTLCache<Int, Int>(maximumAge: .seconds(60))
        let loads = Loads()
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    try await cache.value(for: 0) {
                        loads.count.add(1, ordering: .relaxed)
                        try await Task.sleep(for: .milliseconds(50))
                        return 42
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(values.count == 200 && values.allSatisfy { $0 == 42 })
        #expect(loads.count.load(ordering: .relaxed) == 1)
    }

    @Test("a change made while a load is in flight wins: the next read loads afresh, the old load stores nothing")
    func invalidationDuringALoad() async throws {
        let cache = TTLCache<Int, String>(maximumAge: .seconds(60))
        let slow = Task { try await cache.value(for: 0) { try await Task.sleep(for: .milliseconds(200)); return "old" } }
        try await Task.sleep(for: .milliseconds(50))
        cache.removeAll()  // what SettingsService.update does after storing the change
        let fresh = try await cache.value(for: 0) { "new" }
        #expect(fresh == "new")
        #expect(try await slow.value == "old")
        #expect(cache.value(for: 0) == "new", "the load begun before the change must not overwrite it")
    }

    @Test("a failed load is not kept: the next read tries again")
    func failure() async throws {
        struct Boom: Error {}
        let cache = TTLCache<Int, Int>(maximumAge: .seconds(60))
        await #expect(throws: Boom.self) { try await cache.value(for: 0) { throw Boom() } }
        #expect(try await cache.value(for: 0) { 7 } == 7)
    }
}
