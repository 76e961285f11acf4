import Crypto
import Foundation
import SMS
import Providers

/// Seals provider secrets with AES-GCM under a key derived from `HERALD_SECRET`. The
/// provider's id is the associated data, so a sealed blob cannot be moved to another row.
struct SecretBox: Sendable {
    private let keyBytes: [UInt8]

    init(secret: ServerSecret) {
        keyBytes = secret.derivedKey(purpose: "herald.provider-secrets.v1").withUnsafeBytes { Array($0) }
    }

    func seal(_ values: [String: JSONValue], providerID: UUID) throws -> [UInt8] {
        let plain = try JSONEncoder().encode(values)
        let box = try AES.GCM.seal(plain, using: SymmetricKey(data: keyBytes), authenticating: Array(providerID.uuidString.lowercased().utf8))
        guard let combined = box.combined else { throw HeraldError(.validationFailed, "could not seal provider secrets") }
        return Array(combined)
    }

    func open(_ sealed: [UInt8], providerID: UUID) throws -> [String: JSONValue] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let plain = try AES.GCM.open(box, using: SymmetricKey(data: keyBytes), authenticating: Array(providerID.uuidString.lowercased().utf8))
            return try JSONDecoder().decode([String: JSONValue].self, from: plain)
        } catch {
            throw ProviderSecretsError()
        }
    }
}

/// Stored provider secrets that do not open: HERALD_SECRET changed since they were saved.
public struct ProviderSecretsError: Error, Sendable, CustomStringConvertible {
    public var description: String {
        "a provider's secrets cannot be decrypted: HERALD_SECRET differs from the one they were saved with; re-enter them"
    }
}
