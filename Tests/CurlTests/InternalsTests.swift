@testable import Curl
import Testing

@Suite("internals, without I/O")
struct InternalsTests {
    @Test("durations become whole milliseconds for libcurl, rounded up, never 0 (which means no timeout)")
    func milliseconds() {
        #expect(Duration.seconds(30).curlMilliseconds == 30_000)
        #expect(Duration.milliseconds(300).curlMilliseconds == 300)
        #expect(Duration.microseconds(1).curlMilliseconds == 1)
        #expect(Duration.microseconds(1_500).curlMilliseconds == 2)
        #expect(Duration.zero.curlMilliseconds == 1)
        #expect(Duration.seconds(-5).curlMilliseconds == 1)
        #expect(Duration.seconds(Int64.max).curlMilliseconds == Int.max)
    }

    @Test("the host of a URL drops user info, path, query and fragment",
          arguments: [
              ("http://127.0.0.1:8080/path?q=1", "127.0.0.1:8080"),
              ("https://user:secret@api.example.com/x", "api.example.com"),
              ("http://[::1]:9000?x", "[::1]:9000"),
              ("HTTPS://Example.COM#frag", "Example.COM"),
          ])
    func host(url: String, host: String) {
        #expect(URLParts.host(of: url) == host)
    }

    @Test("no host without scheme:// or with an empty authority",
          arguments: ["example.com/x", "mailto:a@b", "file:///etc/passwd", "", "://x"])
    func noHost(url: String) {
        #expect(URLParts.host(of: url) == nil)
    }

    @Test("an absolute URL needs a scheme of letters, digits, + - . and then ://")
    func schemes() {
        #expect(URLParts.hasScheme("http://x"))
        #expect(URLParts.hasScheme("svn+ssh://x"))
        #expect(URLParts.hasScheme("file:///etc/passwd"))
        #expect(!URLParts.hasScheme("x.com:80/path"))
        #expect(!URLParts.hasScheme("1http://x"))
        #expect(!URLParts.hasScheme("http:/x"))
        #expect(!URLParts.hasScheme(""))
    }

    @Test("a received header block parses into ordered fields")
    func headerBlock() {
        let block = Array("Content-Type: text/plain\r\nX-A:  padded \t\r\nX-Folded: one\r\n two\r\nno colon here\r\n: empty name\r\nX-A: second\r\nX-Empty:\r\n".utf8)
        let headers = HTTPHeaders(headerBlock: block)
        #expect(headers.map(\.name) == ["Content-Type", "X-A", "X-Folded", "X-A", "X-Empty"])
        #expect(headers.values("x-a") == ["padded", "second"])
        #expect(headers["x-folded"] == "one two")
        #expect(headers["x-empty"] == "")
        #expect(HTTPHeaders(headerBlock: []).isEmpty)
        #expect(HTTPHeaders(headerBlock: Array("A: 1\nB: 2".utf8)).map(\.value) == ["1", "2"])
    }

    @Test("the FIFO keeps order across compaction")
    func fifo() {
        var queue = FIFO<Int>()
        var expected = 0
        for value in 0..<5_000 {
            queue.append(value)
            if value % 3 == 0, let first = queue.popFirst() {
                #expect(first == expected)
                expected += 1
            }
        }
        while let first = queue.popFirst() {
            #expect(first == expected)
            expected += 1
        }
        #expect(expected == 5_000)
        #expect(queue.isEmpty)
    }

    @Test("libcurl codes map to error codes")  // CURLE_OPERATION_TIMEDOUT = 28, CURLE_COULDNT_RESOLVE_HOST = 6, …
    func codes() {
        #expect(HTTPClientError.Code(curlCodeValue: 28) == .timeout)
        #expect(HTTPClientError.Code(curlCodeValue: 6) == .couldNotResolveHost)
        #expect(HTTPClientError.Code(curlCodeValue: 7) == .couldNotConnect)
        #expect(HTTPClientError.Code(curlCodeValue: 60) == .tls)
        #expect(HTTPClientError.Code(curlCodeValue: 35) == .tls)
        #expect(HTTPClientError.Code(curlCodeValue: 1) == .unsupportedProtocol)
        #expect(HTTPClientError.Code(curlCodeValue: 47) == .tooManyRedirects)
        #expect(HTTPClientError.Code(curlCodeValue: 3) == .invalidURL)
        #expect(HTTPClientError.Code(curlCodeValue: 63) == .responseTooLarge)
        #expect(HTTPClientError.Code(curlCodeValue: 52) == .transfer)
        #expect("\(HTTPClientError(.timeout, curlCode: 28, host: "h:1", detail: "Operation timed out after 300 ms"))"
                == "HTTPClientError.timeout (curl 28) host: h:1")
    }
}
