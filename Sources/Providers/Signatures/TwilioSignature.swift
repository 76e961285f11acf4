import SMS
import Crypto
import Foundation

/// Twilio's webhook signature (`X-Twilio-Signature`): Base64 of HMAC-SHA1, keyed with the auth
/// token, over the full URL Twilio called followed by every POST parameter's name and value,
/// sorted by name. Used to verify Twilio's callbacks and, in the provider simulator, to sign them.
public enum TwilioSignature {
    public static func signature(url: String, parameters: [(String, String)], authToken: String) -> String {
        var data = url
        for (name, value) in parameters.sorted(by: { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }) {
            data += name + value
        }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Array(data.utf8), using: SymmetricKey(data: Array(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    public static func isValid(_ signature: String, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        let expected = self.signature(url: url, parameters: parameters, authToken: authToken)
        return ConstantTime.equals(Array(expected.utf8), Array(signature.utf8))
    }

    /// The URLs Twilio's own validators try, since Twilio may sign with or without the port:
    /// the URL as given, without its port, and with the scheme's default port (twilio-python's
    /// `RequestValidator.validate`).
    public static func urlVariants(_ url: String) -> [String] {
        var variants = [url]
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              components.host != nil else { return variants }
        if components.port != nil {
            components.port = nil
            if let without = components.string { variants.append(without) }
        } else if let port = scheme == "https" ? 443 : scheme == "http" ? 80 : nil {
            components.port = port
            if let with = components.string { variants.append(with) }
        }
        return variants
    }

    /// The `bodySHA256` query parameter Twilio adds when it posts a JSON body: the lowercase hex
    /// SHA-256 of the raw body. The signature then covers the URL (with that parameter) and no
    /// POST parameters.
    public static func bodyHash(_ body: [UInt8]) -> String {
        SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
    }
}
