import SMS
import Crypto
import Foundation
import _CryptoExtras

/// The two JSON Web Token forms Vonage uses (RFC 7519, compact JWS of RFC 7515): RS256 tokens
/// Herald signs with an application's private key to call the Voice API, and HS256 tokens
/// Vonage signs with the account's signature secret on its Voice and Messages webhooks.
public enum JWT {
    /// `base64url` without padding (RFC 7515 §2).
    public static func base64URL(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func base64URLDecode(_ text: some StringProtocol) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !base64.contains("=") else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }

    /// A compact RS256 token (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3).
    public static func rs256(claims: [String: Any], privateKey: _RSA.Signing.PrivateKey) throws -> String {
        let input = signingInput(header: ["alg": "RS256", "typ": "JWT"], claims: claims)
        let signature = try privateKey.signature(for: Array(input.utf8), padding: .insecurePKCS1v1_5)
        return input + "." + base64URL(signature.rawRepresentation)
    }

    /// A compact HS256 token (HMAC-SHA256, RFC 7518 §3.2).
    public static func hs256(claims: [String: Any], secret: String) -> String {
        let input = signingInput(header: ["alg": "HS256", "typ": "JWT"], claims: claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + base64URL(Array(mac))
    }

    /// The claims of an HS256 token whose signature checks out with `secret`; nil for any other
    /// token (another algorithm, `none`, a bad signature, malformed parts).
    public static func verifiedHS256Claims(_ token: String, secret: String) -> [String: Any]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
              let headerBytes = base64URLDecode(parts[0]),
              let header = (try? JSONSerialization.jsonObject(with: Data(headerBytes))) as? [String: Any],
              header["alg"] as? String == "HS256",
              let signature = base64URLDecode(parts[2]),
              let claimsBytes = base64URLDecode(parts[1])
        else { return nil }
        let input = Array((parts[0] + "." + parts[1]).utf8)
        let expected = HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Array(secret.utf8)))
        guard ConstantTime.equals(Array(expected), signature) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(claimsBytes))) as? [String: Any]
    }

    private static func signingInput(header: [String: Any], claims: [String: Any]) -> String {
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        let headerData = (try? JSONSerialization.data(withJSONObject: header, options: options)) ?? Data()
        let claimsData = (try? JSONSerialization.data(withJSONObject: claims, options: options)) ?? Data()
        return base64URL(headerData) + "." + base64URL(claimsData)
    }
}
