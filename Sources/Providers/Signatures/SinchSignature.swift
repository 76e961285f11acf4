import SMS
import Crypto
import Foundation

/// Sinch's signed SMS callbacks (the HMAC scheme Sinch enables per account on request).
///
/// Four headers travel with a signed callback: `x-sinch-webhook-signature-timestamp` (Unix
/// seconds), `x-sinch-webhook-signature-nonce`, `x-sinch-webhook-signature-algorithm`
/// (`HmacSHA256`) and `x-sinch-webhook-signature`: Base64 of the HMAC, keyed with the UTF-8
/// bytes of the webhook secret, over the raw body, a dot, the nonce, a dot and the timestamp
/// (`{body}.{nonce}.{timestamp}`). This is what Sinch's own SDKs check
/// (`HmacAuthenticationValidation` in sinch-sdk-java, `validateWebhookSignature` in
/// sinch-sdk-node's sdk-client, `validate_webhook_signature_with_nonce` in sinch-sdk-python),
/// and it matches the published vectors in their test suites.
public enum SinchSignature {
    public static let signatureHeader = "x-sinch-webhook-signature"
    public static let nonceHeader = "x-sinch-webhook-signature-nonce"
    public static let timestampHeader = "x-sinch-webhook-signature-timestamp"
    public static let algorithmHeader = "x-sinch-webhook-signature-algorithm"

    /// The algorithms Sinch names in `x-sinch-webhook-signature-algorithm` that we accept.
    public enum Algorithm: String, Sendable, CaseIterable {
        case hmacSHA256 = "HmacSHA256"
        case hmacSHA512 = "HmacSHA512"
    }

    /// The signed bytes: `{body}.{nonce}.{timestamp}`.
    public static func signedData(body: [UInt8], nonce: String, timestamp: String) -> [UInt8] {
        body + Array(".\(nonce).\(timestamp)".utf8)
    }

    public static func signature(body: [UInt8], nonce: String, timestamp: String, secret: String,
                                 algorithm: Algorithm = .hmacSHA256) -> String {
        let data = signedData(body: body, nonce: nonce, timestamp: timestamp)
        let key = SymmetricKey(data: Array(secret.utf8))
        let mac: [UInt8] = switch algorithm {
        case .hmacSHA256: Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .hmacSHA512: Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
        return Data(mac).base64EncodedString()
    }

    /// The four headers for a body signed now (the provider simulator and tests sign with it).
    public static func headers(body: [UInt8], secret: String, nonce: String, timestamp: Date,
                               algorithm: Algorithm = .hmacSHA256) -> [String: String] {
        let seconds = String(Int64(timestamp.timeIntervalSince1970.rounded(.down)))
        return [
            signatureHeader: signature(body: body, nonce: nonce, timestamp: seconds, secret: secret, algorithm: algorithm),
            nonceHeader: nonce,
            timestampHeader: seconds,
            algorithmHeader: algorithm.rawValue,
        ]
    }

    /// Whether `headers` (names lower-cased) carry a valid signature of `body` whose timestamp is
    /// within `tolerance` of `now`. A missing algorithm header means `HmacSHA256`; an unknown one fails.
    public static func isValid(body: [UInt8], headers: [String: String], secret: String,
                               now: Date, tolerance: TimeInterval = 300) -> Bool {
        guard let signature = headers[signatureHeader], let nonce = headers[nonceHeader],
              let timestamp = headers[timestampHeader], !nonce.isEmpty,
              let seconds = Int64(timestamp.trimmingCharacters(in: .whitespaces))
        else { return false }
        let algorithm: Algorithm
        if let name = headers[algorithmHeader] {
            guard let known = Algorithm(rawValue: name.trimmingCharacters(in: .whitespaces)) else { return false }
            algorithm = known
        } else {
            algorithm = .hmacSHA256
        }
        guard abs(now.timeIntervalSince1970 - TimeInterval(seconds)) <= tolerance else { return false }
        let expected = self.signature(body: body, nonce: nonce, timestamp: timestamp, secret: secret, algorithm: algorithm)
        return ConstantTime.equals(Array(expected.utf8), Array(signature.trimmingCharacters(in: .whitespaces).utf8))
    }
}
