import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One request on its way through an `HTTPClient`: the C-side memory libcurl reads while
/// sending it, and the response as it arrives.
final class Transfer: @unchecked Sendable {
    // @unchecked Sendable: the `let`s never change; `continuation` is written once before the
    // transfer is handed over under the client's lock and read only by whoever owns it after that;
    // `cancelRequested`/`submitted` are touched only under the client's lock; everything in
    // "client thread only" is touched only by the client's thread once the transfer was submitted.

    let request: HTTPRequest
    /// Header fields as a libcurl list (CURLOPT_HTTPHEADER), freed in `deinit`.
    let headerList: UnsafeMutablePointer<curl_slist>?
    /// A copy of the request body (CURLOPT_POSTFIELDS), freed in `deinit`.
    let body: UnsafeMutableRawBufferPointer?
    let maxResponseBytes: Int
    /// Checked by `transferOpenSocketCallback` on every connection the transfer opens.
    let addressPolicy: AddressPolicy?

    var continuation: UnsafeContinuation<RawResponse, any Error>?

    // Under the client's lock.
    var cancelRequested = false
    var submitted = false

    // Client thread only.
    var easy: CurlEasyHandle?
    var finished = false
    var responseTooLarge = false
    /// The header lines of the latest response, as received; parsed by the caller's task.
    var responseHeaderBlock: [UInt8] = []
    var responseBody: [UInt8] = []
    /// The first address `addressPolicy` refused (with its category), for the error's debug detail.
    var refusedAddress: String?

    /// Copies what libcurl will read into C memory; throws `.invalidURL` or `.invalidRequest`.
    init(request: HTTPRequest, maxResponseBytes: Int, addressPolicy: AddressPolicy? = nil) throws(HTTPClientError) {
        guard URLParts.hasScheme(request.url) else {
            throw HTTPClientError(.invalidURL, detail: "not an absolute URL")
        }
        if request.url.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) {
            throw HTTPClientError(.invalidURL, host: URLParts.host(of: request.url), detail: "space or control character in URL")
        }
        self.request = request
        self.maxResponseBytes = maxResponseBytes
        self.addressPolicy = addressPolicy
        headerList = try Transfer.makeHeaderList(request.headers, bodySize: request.body?.count ?? 0)
        if let bytes = request.body, !bytes.isEmpty {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
            bytes.withUnsafeBytes { copy.copyMemory(from: $0) }
            body = copy
        } else {
            body = nil
        }
    }

    deinit {
        curl_slist_free_all(headerList)
        body?.deallocate()
    }

    /// `Name: value` lines, plus an empty `Expect:` that stops libcurl sending `Expect: 100-continue`
    /// (and waiting up to a second for the answer) before a body. libcurl 7.88 asks only for bodies
    /// over 1 MiB, older ones over 1 KiB; smaller requests skip the line and libcurl's scans of it.
    private static func makeHeaderList(_ headers: HTTPHeaders, bodySize: Int) throws(HTTPClientError) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        var sawExpect = false
        for (name, value) in headers {
            guard isToken(name) else {
                curl_slist_free_all(list)
                throw HTTPClientError(.invalidRequest, detail: "header name is not a token")
            }
            guard !value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) else {
                curl_slist_free_all(list)
                throw HTTPClientError(.invalidRequest, detail: "control character in value of header \(name)")
            }
            sawExpect = sawExpect || name.equalsIgnoringASCIICase("expect")
            // libcurl drops a header given as `Name:`; `Name;` sends it with an empty value.
            list = try append(value.isEmpty ? name + ";" : name + ": " + value, to: list)
        }
        if !sawExpect, bodySize > 1024 {
            list = try append("Expect:", to: list)
        }
        return list
    }

    private static func append(_ line: String, to list: UnsafeMutablePointer<curl_slist>?) throws(HTTPClientError) -> UnsafeMutablePointer<curl_slist>? {
        guard let appended = curl_slist_append(list, line) else {
            curl_slist_free_all(list)
            throw HTTPClientError(.transfer, curlCode: Int(CURLE_OUT_OF_MEMORY.rawValue), detail: "out of memory")
        }
        return appended
    }

    /// RFC 9110 token characters.
    private static func isToken(_ name: String) -> Bool {
        guard !name.isEmpty else { return false }
        return name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }
}

// MARK: - libcurl callbacks (client thread)

/// CURLOPT_WRITEFUNCTION: appends body bytes; returning less than given aborts with CURLE_WRITE_ERROR.
let transferWriteCallback: herald_curl_data_callback = { data, size, count, userData in
    let transfer = Unmanaged<Transfer>.fromOpaque(userData!).takeUnretainedValue()
    let length = size * count
    guard length > 0, let data else { return 0 }
    guard transfer.responseBody.count + length <= transfer.maxResponseBytes else {
        transfer.responseTooLarge = true
        return 0
    }
    transfer.responseBody.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    return length
}

/// CURLOPT_HEADERFUNCTION: called once per header line, status lines and the blank line included.
/// A new status line starts a new response (an interim `1xx`, or the next hop of a redirect), so
/// only the final response's lines are kept. Parsing them into `HTTPHeaders` is left to the
/// caller's task, off the client's thread.
let transferHeaderCallback: herald_curl_data_callback = { data, size, count, userData in
    let transfer = Unmanaged<Transfer>.fromOpaque(userData!).takeUnretainedValue()
    let length = size * count
    guard length > 2, let data else { return length }  // the blank line ending the header
    let line = UnsafeRawBufferPointer(start: data, count: length)
    if line.starts(with: "HTTP/".utf8) {
        transfer.responseHeaderBlock.removeAll(keepingCapacity: true)
    } else {
        transfer.responseHeaderBlock.append(contentsOf: line)
    }
    return length
}

/// CURLOPT_OPENSOCKETFUNCTION, installed when the client has an `AddressPolicy`: libcurl calls it
/// with the resolved address of every connection it opens (each address of a name in turn, each
/// redirect's target), so the policy judges what is actually connected to. It creates the socket
/// as libcurl would (plus close-on-exec on Linux), or returns CURL_SOCKET_BAD to refuse the address:
/// libcurl then tries the host's next address, or fails with CURLE_COULDNT_CONNECT, which
/// `refusedAddress` turns into `.addressNotAllowed`. Anything it cannot read is refused.
let transferOpenSocketCallback: herald_curl_opensocket_callback = { userData, _, address in
    guard let userData, let address else { return CURL_SOCKET_BAD }
    let transfer = Unmanaged<Transfer>.fromOpaque(userData).takeUnretainedValue()
    let family = address.pointee.family
    if let policy = transfer.addressPolicy {
        // `addr` is declared as a 16-byte `struct sockaddr` but holds `addrlen` bytes (28 for IPv6).
        let socketAddress = UnsafeRawPointer(address) + MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
        let ip = IPAddress(socketAddress: socketAddress, length: Int(address.pointee.addrlen))
        guard let ip, policy.allows(ip) else {
            if transfer.refusedAddress == nil {
                transfer.refusedAddress = ip.map { "\($0) (\($0.category))" } ?? "address family \(family)"
            }
            return CURL_SOCKET_BAD
        }
    }
    #if canImport(Glibc)
    let type = address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue)
    #else
    let type = address.pointee.socktype
    #endif
    return socket(family, type, address.pointee.protocol)
}

/// A finished transfer as the client's thread hands it to the caller's task.
struct RawResponse: Sendable {
    var status: Int
    var headerBlock: [UInt8]
    var body: [UInt8]
}
