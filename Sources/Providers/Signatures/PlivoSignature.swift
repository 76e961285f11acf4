import SMS
import Crypto
import Foundation

/// Plivo's V3 webhook signature (`X-Plivo-Signature-V3`, nonce in `X-Plivo-Signature-V3-Nonce`):
/// Base64 of HMAC-SHA256, keyed with the auth token, over a canonical form of the URL and
/// parameters followed by `.` and the nonce. The header may list several signatures separated by
/// commas (one per active auth token); any one matching is enough.
///
/// The canonical form, as plivo-python's `plivo/utils/signature_v3.py` builds it
/// (https://www.plivo.com/docs/voice/concepts/signature-validation):
/// - start from `scheme://host[:port]/path` (no query);
/// - GET: append `?` and the query parameters sorted by name (values of a repeated name sorted),
///   each as `name=value` decoded, joined with `&` (nothing when there are none);
/// - POST with a body: append `?`, the sorted query as above followed by `.` when there is one,
///   then every POST parameter sorted by name as `namevalue` with no separator;
/// - POST without parameters: like GET.
public enum PlivoSignature {
    public static func signedString(method: String, url: String, parameters: [(String, String)], nonce: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
              let host = components.percentEncodedHost else { return nil }
        var base = scheme + "://" + host
        if let port = components.port { base += ":\(port)" }
        base += components.percentEncodedPath
        guard let queryPairs = try? FormEncoding.decode(components.percentEncodedQuery ?? "") else { return nil }
        let query = grouped(queryPairs).map { name, values in
            values.map { name + "=" + $0 }.joined(separator: "&")
        }.joined(separator: "&")
        if method.uppercased() == "POST", !parameters.isEmpty {
            base += "?" + query + (query.isEmpty ? "" : ".")
            base += grouped(parameters).map { name, values in values.map { name + $0 }.joined() }.joined()
        } else if !query.isEmpty {
            base += "?" + query
        }
        return base + "." + nonce
    }

    public static func signature(method: String, url: String, parameters: [(String, String)], nonce: String, authToken: String) -> String? {
        guard let text = signedString(method: method, url: url, parameters: parameters, nonce: nonce) else { return nil }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: Array(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// Whether any of the comma-separated signatures in `header` matches.
    public static func isValid(_ header: String, method: String, url: String, parameters: [(String, String)],
                               nonce: String, authToken: String) -> Bool {
        guard let expected = signature(method: method, url: url, parameters: parameters, nonce: nonce, authToken: authToken) else {
            return false
        }
        var matched = false
        for candidate in header.split(separator: ",") {
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            if ConstantTime.equals(Array(expected.utf8), Array(trimmed.utf8)) { matched = true }
        }
        return matched
    }

    /// Names sorted, each with its values sorted (Python's `sorted` on code points).
    private static func grouped(_ pairs: [(String, String)]) -> [(String, [String])] {
        var byName: [String: [String]] = [:]
        for (name, value) in pairs { byName[name, default: []].append(value) }
        return byName.keys.sorted(by: codePointLess).map { ($0, byName[$0, default: []].sorted(by: codePointLess)) }
    }

    static func codePointLess(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }
}
