import Dispatch
import HummingbirdBcrypt

/// bcrypt, off Swift's cooperative thread pool.
///
/// One bcrypt at cost 11 takes ~0.1–0.2 s of CPU. Run on the cooperative pool it would stall
/// every other task on that thread, so hashing and verifying hop to a Dispatch queue.
public struct PasswordHasher: Sendable {
    public let cost: UInt8

    public init(cost: UInt8 = 11) { self.cost = cost }

    public func hash(_ password: String) async -> String {
        let cost = self.cost
        return await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: Bcrypt.hash(password, cost: cost))
            }
        }
    }

    /// Verifies `password` against `hash`. With no hash (an unknown account) it verifies
    /// against a decoy, so the answer takes as long as for a real account: no timing oracle.
    public func verify(_ password: String, hash: String?) async -> Bool {
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

    /// A real hash of a random password, made once, on first use, off the cooperative pool.
    private static let decoyHash = Bcrypt.hash(Tokens.password(), cost: 11)
}
