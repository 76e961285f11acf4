import SMS
import Crypto
import Foundation

/// Vonage's signed SMS webhooks (`sig` parameter). The signed string is every parameter except
/// `sig`, sorted by name, each as `&name=value` with `&` and `=` inside values replaced by `_`.
/// `md5hash` (Vonage's default) is the MD5 of that string followed by the secret; the HMAC
/// methods key the string with the secret. Hex digests compare without regard to case.
public enum VonageSignature {
    public enum Method: String, Sendable, CaseIterable {
        case md5hash, md5, sha1, sha256, sha512
    }

    public static func signedString(_ parameters: [(String, String)]) -> String {
        parameters
            .filter { $0.0 != "sig" }
            .sorted { $0.0 < $1.0 }
            .map { "&" + $0.0 + "=" + $0.1.replacingOccurrences(of: "&", with: "_").replacingOccurrences(of: "=", with: "_") }
            .joined()
    }

    public static func signature(parameters: [(String, String)], secret: String, method: Method = .md5hash) -> String {
        let text = Array(signedString(parameters).utf8)
        let key = SymmetricKey(data: Array(secret.utf8))
        let digest: [UInt8] = switch method {
        case .md5hash: Array(Insecure.MD5.hash(data: text + Array(secret.utf8)))
        case .md5: Array(HMAC<Insecure.MD5>.authenticationCode(for: text, using: key))
        case .sha1: Array(HMAC<Insecure.SHA1>.authenticationCode(for: text, using: key))
        case .sha256: Array(HMAC<SHA256>.authenticationCode(for: text, using: key))
        case .sha512: Array(HMAC<SHA512>.authenticationCode(for: text, using: key))
        }
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    public static func isValid(parameters: [(String, String)], secret: String, method: Method = .md5hash) -> Bool {
        guard let sig = parameters.first(where: { $0.0 == "sig" })?.1 else { return false }
        let expected = signature(parameters: parameters, secret: secret, method: method)
        return ConstantTime.equals(Array(expected.utf8), Array(sig.lowercased().utf8))
    }
}
