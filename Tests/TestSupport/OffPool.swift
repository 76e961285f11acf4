import Foundation

/// Runs blocking or long CPU-bound work (a child process, a polling loop, a sweep over every Unicode scalar) on a
/// thread of its own, so that Swift's cooperative pool — two threads on a two-core machine — keeps serving the tests
/// that run alongside. Two synchronous tests that each held a pool thread for seconds starved every other test of a
/// parallel run: their deadlines passed before their tasks were even scheduled.
public func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
