import Crypto
import Foundation

/// Telnyx's webhook signature: an Ed25519 signature (Base64, header `telnyx-signature-ed25519`)
/// over `"{telnyx-timestamp}|{raw body}"`, checked with the account's public key (Base64 of the
/// 32 raw bytes, from the portal). The timestamp (Unix seconds, header `telnyx-timestamp`) must be
/// within 300 s of now, as telnyx-python's `webhooks.unwrap` requires
/// (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks).
public enum TelnyxSignature {
    public static let tolerance: TimeInterval = 300

    public static func signedBytes(timestamp: String, body: [UInt8]) -> [UInt8] {
        Array((timestamp + "|").utf8) + body
    }

    /// Signs as Telnyx does; for tests and the simulator.
    public static func signature(timestamp: String, body: [UInt8], privateKey: Curve25519.Signing.PrivateKey) throws -> String {
        try privateKey.signature(for: signedBytes(timestamp: timestamp, body: body)).base64EncodedString()
    }

    public static func isValid(signature: String, timestamp: String, body: [UInt8], publicKey: String, now: Date) -> Bool {
        guard let seconds = Int(timestamp.trimmingCharacters(in: .whitespaces)),
              abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance,
              let keyBytes = Data(base64Encoded: publicKey.trimmingCharacters(in: .whitespacesAndNewlines)),
              keyBytes.count == 32,
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes),
              let signatureBytes = Data(base64Encoded: signature.trimmingCharacters(in: .whitespaces)),
              signatureBytes.count == 64
        else { return false }
        return key.isValidSignature(signatureBytes, for: signedBytes(timestamp: timestamp, body: body))
    }
}
