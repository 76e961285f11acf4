/// A request for `HTTPClient.send(_:)`.
public struct HTTPRequest: Sendable {
    public enum Method: String, Sendable, Hashable {
        case GET, POST, PUT, PATCH, DELETE, HEAD
    }

    public var method: Method
    /// An absolute `http://` or `https://` URL; any other scheme fails with `.unsupportedProtocol`.
    public var url: String
    /// Sent as given, after libcurl's own `Host`, `Accept` and `User-Agent` (a field given here
    /// replaces libcurl's). `Expect: 100-continue` is never sent.
    public var headers: HTTPHeaders
    /// Sent as is with a `Content-Length`. Without a `Content-Type` header, libcurl labels a body
    /// `application/x-www-form-urlencoded`.
    public var body: [UInt8]?
    /// Sent as `Authorization: Basic …` (CURLOPT_USERNAME / CURLOPT_PASSWORD), and never to
    /// another host after a redirect.
    public var basicAuth: (username: String, password: String)?
    /// The whole transfer, connecting included (CURLOPT_TIMEOUT_MS).
    public var timeout: Duration
    /// Connecting, DNS and TLS handshake included (CURLOPT_CONNECTTIMEOUT_MS).
    public var connectTimeout: Duration

    public init(
        method: Method = .GET,
        url: String,
        headers: HTTPHeaders = [:],
        body: [UInt8]? = nil,
        timeout: Duration = .seconds(30)
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.basicAuth = nil
        self.timeout = timeout
        self.connectTimeout = .seconds(10)
    }
}

extension HTTPRequest: CustomStringConvertible {
    /// Method and host only: the path, query, headers and body may hold secrets or phone numbers.
    public var description: String {
        "\(method.rawValue) \(URLParts.host(of: url) ?? "<invalid URL>")"
    }
}

extension Duration {
    /// Whole milliseconds, rounded up so that a tiny positive timeout never becomes "none" (0),
    /// clamped to what a C `long` option takes.
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0, seconds > 0 || attoseconds > 0 else { return 1 }
        guard seconds < Int64(Int.max / 1000) - 1 else { return Int.max }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int(seconds) * 1000 + Int(fraction)
    }
}

enum URLParts {
    /// Whether the URL starts with `scheme://` (RFC 3986 scheme characters). libcurl would
    /// otherwise guess a scheme for `example.com/path`.
    static func hasScheme(_ url: String) -> Bool {
        guard let schemeEnd = url.utf8.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let scheme = url.utf8[..<schemeEnd]
        guard let first = scheme.first, (first | 0x20) >= 0x61, (first | 0x20) <= 0x7A else { return false }
        let isSchemeChar: (UInt8) -> Bool = { byte in
            let lower = byte | 0x20
            return (lower >= 0x61 && lower <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2B || byte == 0x2D || byte == 0x2E
        }
        return scheme.allSatisfy(isSchemeChar) && url.utf8[schemeEnd...].starts(with: "://".utf8)
    }

    /// `host[:port]` of an absolute URL, without user info; nil when there is no `scheme://`.
    static func host(of url: String) -> String? {
        guard hasScheme(url), let colon = url.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let rest = url.utf8[colon...].dropFirst(3)
        let authority = rest.prefix { $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }
        let host = authority.lastIndex(of: UInt8(ascii: "@")).map { authority[authority.index(after: $0)...] } ?? authority
        return host.isEmpty ? nil : String(decoding: host, as: UTF8.self)
    }
}
