import Crypto
import Foundation

/// The server secret (`HERALD_SECRET`): the root key for HMACs and encryption at rest.
///
/// In embedded mode, when unset, it is generated once and kept in `$HERALD_DATA_DIR/secret`
/// (mode 0600). With an external database every process must share one secret, so it must be
/// set explicitly; a generated one per machine would silently disagree.
public struct ServerSecret: Sendable {
    /// SHA-256 of the secret text. Kept as bytes: `SymmetricKey` is not `Sendable`.
    private let keyBytes: [UInt8]

    public init(_ text: String) {
        keyBytes = Array(SHA256.hash(data: Array(text.utf8)))
    }

    public var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// A key for one purpose, derived with HKDF so purposes never share key material.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array(purpose.utf8), outputByteCount: 32)
    }

    public static func load(configuration: HeraldConfiguration) throws -> ServerSecret {
        if let secret = configuration.secret {
            guard secret.utf8.count >= 16 else {
                throw ConfigurationError("HERALD_SECRET must be at least 16 characters")
            }
            return ServerSecret(secret)
        }
        guard configuration.databaseURL == nil else {
            throw ConfigurationError(
                "HERALD_SECRET must be set when DATABASE_URL is set: every Herald process sharing the database needs the same secret")
        }
        let path = configuration.absoluteDataDirectory + "/secret"
        let fm = FileManager.default
        if let existing = try? String(contentsOfFile: path, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty
        {
            return ServerSecret(existing)
        }
        try fm.createDirectory(atPath: configuration.absoluteDataDirectory, withIntermediateDirectories: true)
        let generated = Tokens.base62(length: 48)
        try SecureFile.create(path, contents: generated)
        return ServerSecret(generated)
    }
}
