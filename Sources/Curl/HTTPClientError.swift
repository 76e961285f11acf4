import CCurl

/// Why a request failed.
///
/// `description` is safe to log and show: it names the failure and at most the host. The
/// libcurl message is only in `debugDescription` (`String(reflecting:)`).
public struct HTTPClientError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The kind of failure; compare with `==` or switch over the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case timeout, couldNotResolveHost, couldNotConnect, tls, unsupportedProtocol
            case tooManyRedirects, invalidURL, invalidRequest, cancelled, shutdown
            case responseTooLarge, addressNotAllowed, transfer
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The total or connect timeout passed (CURLE_OPERATION_TIMEDOUT).
        public static let timeout = Code(.timeout)
        /// The host name did not resolve (CURLE_COULDNT_RESOLVE_HOST).
        public static let couldNotResolveHost = Code(.couldNotResolveHost)
        /// Nothing accepted the connection (CURLE_COULDNT_CONNECT).
        public static let couldNotConnect = Code(.couldNotConnect)
        /// The TLS handshake failed or the peer's certificate or name did not verify.
        public static let tls = Code(.tls)
        /// The URL, or a redirect's target, is not `http` or `https` (CURLE_UNSUPPORTED_PROTOCOL).
        public static let unsupportedProtocol = Code(.unsupportedProtocol)
        /// More than 5 redirects (CURLE_TOO_MANY_REDIRECTS).
        public static let tooManyRedirects = Code(.tooManyRedirects)
        /// The URL does not parse (CURLE_URL_MALFORMAT), or has no `scheme://`.
        public static let invalidURL = Code(.invalidURL)
        /// A header name or value cannot be sent (control characters, empty name…).
        public static let invalidRequest = Code(.invalidRequest)
        /// The calling task was cancelled.
        public static let cancelled = Code(.cancelled)
        /// The client was shut down before the request finished.
        public static let shutdown = Code(.shutdown)
        /// The body passed `Configuration.maxResponseBytes`.
        public static let responseTooLarge = Code(.responseTooLarge)
        /// The client's `AddressPolicy` refused every address it was about to connect to (the
        /// host's, or a redirect target's): nothing was sent. `debugDescription` names the address.
        public static let addressNotAllowed = Code(.addressNotAllowed)
        /// Any other failure while sending or receiving (see `curlCode`).
        public static let transfer = Code(.transfer)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The libcurl `CURLcode`, when libcurl reported the failure.
    public let curlCode: Int?
    /// `host[:port]` of the request, when known.
    public let host: String?
    /// libcurl's message (CURLOPT_ERRORBUFFER or `curl_easy_strerror`); debug output only.
    let detail: String?

    init(_ code: Code, curlCode: Int? = nil, host: String? = nil, detail: String? = nil) {
        self.code = code
        self.curlCode = curlCode
        self.host = host
        self.detail = detail
    }

    public var description: String {
        var text = "HTTPClientError.\(code)"
        if let curlCode { text += " (curl \(curlCode))" }
        if let host { text += " host: \(host)" }
        return text
    }

    public var debugDescription: String {
        guard let detail, !detail.isEmpty else { return description }
        return description + ": " + detail
    }
}

extension HTTPClientError.Code {
    /// Maps a failed `CURLcode`, given as its number, to a code.
    init(curlCodeValue: Int) {
        self.init(curlCode: CURLcode(rawValue: UInt32(truncatingIfNeeded: curlCodeValue)))
    }

    /// Maps a failed `CURLcode` to a code.
    init(curlCode: CURLcode) {
        switch curlCode {
        case CURLE_OPERATION_TIMEDOUT:
            self = .timeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            self = .couldNotResolveHost
        case CURLE_COULDNT_CONNECT:
            self = .couldNotConnect
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_ENGINE_NOTFOUND,
            CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER, CURLE_USE_SSL_FAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_SHUTDOWN_FAILED,
            CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT:
            self = .tls
        case CURLE_UNSUPPORTED_PROTOCOL:
            self = .unsupportedProtocol
        case CURLE_TOO_MANY_REDIRECTS:
            self = .tooManyRedirects
        case CURLE_URL_MALFORMAT:
            self = .invalidURL
        case CURLE_FILESIZE_EXCEEDED:
            self = .responseTooLarge
        default:
            self = .transfer
        }
    }
}
