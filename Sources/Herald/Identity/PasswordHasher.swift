import Dispatch
import Foundation
import HummingbirdBcrypt

/// bcrypt, off Swift's cooperative thread pool, a few at a time.
///
/// One bcrypt at cost 11 takes ~0.1–0.2 s of CPU. Run on the cooperative pool it would stall
/// every other task on that thread, so hashing and verifying hop to a Dispatch queue. And since
/// anyone can ask for a password check by posting a login, at most `maxConcurrent` run at once
/// (by default half the cores, 2 to 4), at most `maxWaiting` more wait their turn, and callers
/// beyond that are refused at once (``HeraldError/Code/serverBusy``): a flood of logins costs a
/// bounded share of the CPU, and the rest of the server keeps answering.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    let limiter: ConcurrencyLimiter

    public static var defaultConcurrency: Int { min(4, max(2, ProcessInfo.processInfo.activeProcessorCount / 2)) }

    public init(cost: UInt8 = 11, maxConcurrent: Int = PasswordHasher.defaultConcurrency, maxWaiting: Int = 16) {
        self.cost = cost
        self.limiter = ConcurrencyLimiter(maxRunning: maxConcurrent, maxWaiting: maxWaiting)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await limited {
            await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async {
                    continuation.resume(returning: Bcrypt.hash(password, cost: cost))
                }
            }
        }
    }

    /// Verifies `password` against `hash`. With no hash (an unknown account) it verifies
    /// against a decoy, so the answer takes as long as for a real account: no timing oracle.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        try await limited {
            await withCheckedContinuation { continuation in
                DispatchQueue.global(qos: .userInitiated).async {
                    guard let hash else {
                        _ = Bcrypt.verify(password, hash: Self.decoyHash)
                        return continuation.resume(returning: false)
                    }
                    continuation.resume(returning: Bcrypt.verify(password, hash: hash))
                }
            }
        }
    }

    private func limited<T: Sendable>(_ body: () async -> T) async throws -> T {
        do {
            return try await limiter.run { await body() }
        } catch is ConcurrencyLimiter.Full {
            throw HeraldError(.serverBusy, "too many password checks at once; try again in a moment", retryAfter: 1)
        }
    }

    /// A real hash of a random password, made once, on first use, off the cooperative pool.
    private static let decoyHash = Bcrypt.hash(Tokens.password(), cost: 11)
}
