import Foundation

/// Small pieces every adapter needs: auth headers, JSON in and out, webhook parameters,
/// `Retry-After`, XML escaping. Internal: the adapters are the API.
enum AdapterSupport {
    /// `Basic base64(user:password)` (RFC 7617).
    static func basicAuthorization(user: String, password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    /// A JSON body with sorted keys and unescaped slashes, so requests are byte-for-byte stable.
    static func jsonBody(_ object: [String: Any]) -> [UInt8] {
        // Only strings, numbers, bools, arrays and dictionaries reach here, so serialisation cannot fail.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }

    /// The value of `key` in a JSON object's top level when it is a plain string (no escapes),
    /// found without building the object; nil when absent, escaped, nested only, or not JSON
    /// enough to tell — callers then use the full parser.
    static func topLevelString(_ key: String, in body: [UInt8]) -> String? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), colon = UInt8(ascii: ":")
        let keyBytes = Array(key.utf8)
        let n = body.count
        var i = 0
        func skipSpace() { while i < n, body[i] == 0x20 || body[i] == 0x0A || body[i] == 0x0D || body[i] == 0x09 { i += 1 } }
        skipSpace()
        guard i < n, body[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var depth = 1
        var expectKey = true
        while i < n {
            let byte = body[i]
            if byte == quote {
                let start = i + 1
                var end = start
                var escaped = false
                while end < n, body[end] != quote {
                    if body[end] == backslash { escaped = true; end += 2 } else { end += 1 }
                }
                guard end < n else { return nil }
                i = end + 1
                if depth == 1 && expectKey {
                    expectKey = false
                    skipSpace()
                    guard i < n, body[i] == colon else { return nil }
                    i += 1
                    skipSpace()
                    if !escaped && body[start..<end].elementsEqual(keyBytes) {
                        guard i < n, body[i] == quote else { return nil }
                        var valueEnd = i + 1
                        while valueEnd < n, body[valueEnd] != quote {
                            if body[valueEnd] == backslash { return nil }
                            valueEnd += 1
                        }
                        guard valueEnd < n else { return nil }
                        return String(decoding: body[(i + 1)..<valueEnd], as: UTF8.self)
                    }
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): if depth == 1 { expectKey = true }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// The body as a JSON object, or nil when it is not one.
    static func jsonObject(_ body: [UInt8]) -> [String: Any]? {
        guard !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// A JSON scalar as the provider meant it: strings as they are, numbers without a fraction as integers.
    static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: return text
        case let number as NSNumber:
            let double = number.doubleValue
            if double.rounded() == double, abs(double) < 1e15 { return String(Int64(double)) }
            return number.stringValue
        default: return nil
        }
    }

    /// The query string of `url`, decoded.
    static func queryParameters(of url: String) throws(WebhookError) -> [(String, String)] {
        // The query as sent: after the first `?`, up to a `#` (RFC 3986 §3.4). Split by bytes:
        // parsing the whole URL with URLComponents cost more than the webhook's HMAC.
        let utf8 = url.utf8
        let beforeFragment = utf8[..<(utf8.firstIndex(of: UInt8(ascii: "#")) ?? utf8.endIndex)]
        guard let mark = beforeFragment.firstIndex(of: UInt8(ascii: "?")) else { return [] }
        return try FormEncoding.decode(Array(beforeFragment[beforeFragment.index(after: mark)...]))
    }

    /// Whether the request's content type is JSON.
    static func isJSON(_ request: WebhookRequest) -> Bool {
        request.header("content-type")?.lowercased().contains("json") ?? false
    }

    /// The `key=value` parameters of a webhook that may arrive as a GET query, a POST form or a POST
    /// JSON object (Vonage sends all three). Query parameters come first; JSON values that are not
    /// scalars are skipped. Fit only for webhooks authenticated by a token in their URL, where
    /// nothing is signed: a signed webhook is read from what its signature covers and nothing else
    /// (each adapter's `signedParameters(of:)`).
    static func parameters(of request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        try queryParameters(of: request.url) + bodyParameters(of: request)
    }

    /// What the provider itself sent: the query of a GET, the body (form or JSON) of anything else.
    /// Signatures cover these and not the query Herald put in the callback URL.
    static func sentParameters(of request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        request.method.uppercased() == "GET" ? try queryParameters(of: request.url) : try bodyParameters(of: request)
    }

    /// The body's parameters (form or JSON object, as `parameters(of:)` reads them); nothing for a GET.
    static func bodyParameters(of request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        guard request.method.uppercased() != "GET", !request.body.isEmpty else { return pairs }
        let looksLikeJSON = isJSON(request) || request.body.first(where: { !isWhitespace($0) }) == UInt8(ascii: "{")
        if looksLikeJSON {
            guard let object = jsonObject(request.body) else { throw WebhookError("the JSON body is malformed") }
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                if let text = string(value) { pairs.append((key, text)) }
            }
        } else {
            pairs += try FormEncoding.decode(request.body)
        }
        return pairs
    }

    /// The form parameters of a POST body (nothing for GET).
    static func formParameters(of request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        guard request.method.uppercased() != "GET" else { return [] }
        return try FormEncoding.decode(request.body)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// `Retry-After` in seconds (RFC 9110 §10.2.3, delay-seconds form; the HTTP-date form is ignored).
    static func retryAfter(_ response: WireResponse) -> Duration? {
        guard let value = response.headers["retry-after"]?.trimmingCharacters(in: .whitespaces),
              let seconds = Int(value), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }

    /// The category a bare HTTP status implies when the provider's own code says nothing more.
    static func category(forHTTPStatus status: Int) -> ProviderFailure.Category {
        switch status {
        case 401, 402, 403: .account
        case 429: .throttled
        case 408, 500...599: .unavailable
        default: .rejected
        }
    }

    /// A `.failed` outcome, carrying `Retry-After` when the failure is transient.
    static func failed(_ failure: ProviderFailure, _ response: WireResponse) -> SubmitOutcome {
        .failed(failure, retryAfter: failure.isTransient ? retryAfter(response) : nil)
    }

    /// An answer we could not read at all: a 2xx without the expected id is the provider's fault.
    static func unreadable(_ response: WireResponse, expected: String) -> SubmitOutcome {
        let category: ProviderFailure.Category = (200...299).contains(response.status)
            ? .unavailable : category(forHTTPStatus: response.status)
        return failed(ProviderFailure(category, code: String(response.status),
                                      message: "the answer (HTTP \(response.status)) has no \(expected)"), response)
    }

    /// Trims a provider's message to something fit for logs and the API.
    static func trimmed(_ text: String?) -> String {
        let value = (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        return value.count > 300 ? String(value.prefix(300)) + "…" : value
    }

    /// Text as XML 1.0 character data or a quoted attribute value, the one escaper TwiML
    /// (`TwilioAdapter.twiml`) and Plivo XML (`PlivoAdapter.answerXML`) share.
    ///
    /// It works on Unicode scalars, not `Character`s: a grapheme cluster such as `<` followed by
    /// U+0338 COMBINING LONG SOLIDUS OVERLAY is one `Character` equal to no markup character, yet
    /// an XML parser reads its first scalar as the start of a tag. Scalars XML 1.0 does not allow
    /// at all (§2.2 `Char`: the C0 controls other than tab, line feed and carriage return, and
    /// U+FFFE, U+FFFF; Swift strings hold no lone surrogates) become a space, so the document
    /// stays well-formed whatever the message text holds and the words around them stay apart.
    static func xmlEscaped(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x26: out.append(contentsOf: "&amp;".utf8)
            case 0x3C: out.append(contentsOf: "&lt;".utf8)
            case 0x3E: out.append(contentsOf: "&gt;".utf8)
            case 0x22: out.append(contentsOf: "&quot;".utf8)
            case 0x27: out.append(contentsOf: "&apos;".utf8)
            case 0x09, 0x0A, 0x0D: out.append(UInt8(scalar.value))
            case 0x00...0x1F, 0xFFFE, 0xFFFF: out.append(0x20)
            default: UTF8.encode(scalar) { out.append($0) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `+4915112345678` → `4915112345678` (Vonage wants numbers without the plus).
    static func withoutPlus(_ number: String) -> String {
        number.hasPrefix("+") ? String(number.dropFirst()) : number
    }

    /// `4915112345678` → `+4915112345678`; alphanumeric sender ids stay as they are.
    static func withPlus(_ number: String) -> String {
        guard !number.isEmpty, !number.hasPrefix("+"), number.allSatisfy(\.isASCIIDigit) else { return number }
        return "+" + number
    }

    /// A BCP 47 tag normalised to `ll-CC` (`de_de` → `de-DE`), or nil when it has no region.
    static func languageRegion(_ locale: String?) -> String? {
        guard let locale else { return nil }
        let parts = locale.replacingOccurrences(of: "_", with: "-").split(separator: "-")
        guard parts.count >= 2, (2...3).contains(parts[0].count), parts[1].count == 2,
              parts[0].allSatisfy(\.isLetter), parts[1].allSatisfy(\.isLetter) else { return nil }
        return parts[0].lowercased() + "-" + parts[1].uppercased()
    }

    /// The first supported `ll-CC` for a locale: an exact match, else the first with the same language.
    static func supportedLanguage(_ locale: String?, in supported: [String]) -> String? {
        guard let locale else { return nil }
        if let exact = languageRegion(locale), supported.contains(exact) { return exact }
        let language = locale.replacingOccurrences(of: "_", with: "-").split(separator: "-").first.map { $0.lowercased() }
        guard let language else { return nil }
        return supported.first { $0.hasPrefix(language + "-") }
    }

    /// `url` with `name=value` added to its query.
    static func appendingQuery(_ url: String, _ name: String, _ value: String) -> String {
        let pair = FormEncoding.percentEncode(name) + "=" + FormEncoding.percentEncode(value)
        if let hash = url.firstIndex(of: "#") {
            let base = String(url[..<hash])
            return base + (base.contains("?") ? "&" : "?") + pair + String(url[hash...])
        }
        return url + (url.contains("?") ? "&" : "?") + pair
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension Array where Element == (String, String) {
    /// The first value for `name`.
    func value(_ name: String) -> String? { first { $0.0 == name }?.1 }
}
