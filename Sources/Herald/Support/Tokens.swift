import Crypto
import Foundation

/// Random secrets (session tokens, API keys, passwords) and their stored digests.
///
/// Everything comes from `SystemRandomNumberGenerator`, which reads the kernel CSPRNG
/// (`getrandom(2)` on Linux). Tokens are high-entropy, so a plain SHA-256 is the right
/// stored form: it cannot be brute-forced and lookups stay one indexed equality.
public enum Tokens {
    static let base62 = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// `length` characters from [0-9A-Za-z], uniformly distributed (rejection sampling).
    public static func base62(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var out = ""
        out.reserveCapacity(length)
        while out.count < length {
            let byte = UInt8.random(in: 0...UInt8.max, using: &generator)
            // 248 = 4 × 62: values at or above it would skew the distribution.
            guard byte < 248 else { continue }
            out.append(base62[Int(byte % 62)])
        }
        return out
    }

    /// A password a person can type: 20 base62 characters (~119 bits).
    public static func password() -> String { base62(length: 20) }

    /// SHA-256 of a token's UTF-8 bytes, as stored in the database.
    public static func digest(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }
}
