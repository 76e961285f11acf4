import Curl
import Foundation
import Testing

@Suite("failures are typed")
struct HTTPClientFailureTests {
    @Test("a closed port fails with .couldNotConnect")
    func closedPort() async throws {
        let port = try closedLoopbackPort()
        try await withClient { client in
            let error = try await expectClientError { try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/")) }
            #expect(error.code == .couldNotConnect)
            #expect(error.curlCode == 7)
        }
    }

    @Test("a server that accepts and never answers fails with .timeout, on time")
    func silentServer() async throws {
        let server = try RawServer()
        defer { server.stop() }
        try await withClient { client in
            let (error, elapsed) = try await timed {
                try await expectClientError {
                    try await client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/", timeout: .milliseconds(300)))
                }
            }
            #expect(error.code == .timeout)
            #expect(error.curlCode == 28)
            #expect(elapsed >= .milliseconds(290))
            // Bounds prove behaviour, not speed: well under the 30 s default, generous for a loaded machine.
            #expect(elapsed < .seconds(10))
        }
    }

    @Test("a body that stalls halfway fails with .timeout")
    func stalledBody() async throws {
        let server = try RawServer(response: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        defer { server.stop() }
        try await withClient { client in
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/", timeout: .milliseconds(300)))
            }
            #expect(error.code == .timeout)
        }
    }

    // Deterministic without any network: glibc refuses a DNS label over 63 bytes while building
    // the query, so getaddrinfo fails after reading /etc/hosts and before any socket to a name
    // server is opened (checked with strace). `.invalid` (RFC 6761) keeps it unresolvable anyway.
    @Test("an unresolvable host fails fast with .couldNotResolveHost")
    func unresolvableHost() async throws {
        let host = String(repeating: "n", count: 70) + ".invalid"
        try await withClient { client in
            let (error, elapsed) = try await timed {
                try await expectClientError { try await client.send(HTTPRequest(url: "http://\(host)/")) }
            }
            #expect(error.code == .couldNotResolveHost)
            #expect(error.curlCode == 6)
            #expect(elapsed < .seconds(10), "fails fast rather than waiting for a resolver timeout")
        }
    }

    @Test("malformed URLs fail with .invalidURL",
          arguments: ["http://[::1", "not a url", "example.com/path", "http://exa mple.com/", "http://host/\r\nX-Injected: 1", ""])
    func malformedURL(url: String) async throws {
        try await withClient { client in
            let error = try await expectClientError { try await client.send(HTTPRequest(url: url)) }
            #expect(error.code == .invalidURL)
        }
    }

    @Test("a header that would split the request fails with .invalidRequest, before any I/O",
          arguments: [("X-Bad", "a\r\nX-Injected: 1"), ("Bad Name", "v"), ("", "v"), ("X-Nul", "a\0b")])
    func invalidHeader(name: String, value: String) async throws {
        try await withClient { client in
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "http://127.0.0.1:1/", headers: [name: value]))
            }
            #expect(error.code == .invalidRequest)
        }
    }

    @Test("file:// and other schemes are refused with .unsupportedProtocol",
          arguments: ["file:///etc/passwd", "FILE:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/", "dict://127.0.0.1/"])
    func otherSchemes(url: String) async throws {
        try await withClient { client in
            let error = try await expectClientError { try await client.send(HTTPRequest(url: url)) }
            #expect(error.code == .unsupportedProtocol)
            #expect(error.curlCode == 1)
        }
    }

    @Test("a redirect to file:// is refused when following redirects")
    func redirectToFileFollowing() async throws {
        try await withTestServer { base in
            try await withClient({ $0.followRedirects = true }) { client in
                let error = try await expectClientError { try await client.send(HTTPRequest(url: base + "/redirect/file")) }
                #expect(error.code == .unsupportedProtocol)
            }
        }
    }

    @Test("a redirect to file:// is just a 302 when not following redirects")
    func redirectToFileNotFollowing() async throws {
        try await withTestServer { base in
            try await withClient { client in
                let response = try await client.send(HTTPRequest(url: base + "/redirect/file"))
                #expect(response.status == 302)
                #expect(response.headers["location"] == "file:///etc/passwd")
                #expect(!response.bodyText.contains("root:"))
            }
        }
    }

    @Test("a redirect loop stops after 5 hops with .tooManyRedirects")
    func redirectLoop() async throws {
        try await withTestServer { base in
            try await withClient({ $0.followRedirects = true }) { client in
                let error = try await expectClientError { try await client.send(HTTPRequest(url: base + "/redirect/loop")) }
                #expect(error.code == .tooManyRedirects)
                #expect(error.curlCode == 47)
            }
        }
    }

    @Test("a body over maxResponseBytes fails with .responseTooLarge, with or without Content-Length",
          arguments: ["/bytes/1048576", "/chunked/1048576", "/bytes/65537"])
    func responseTooLarge(path: String) async throws {
        try await withTestServer { base in
            try await withClient({ $0.maxResponseBytes = 64 << 10 }) { client in
                let error = try await expectClientError { try await client.send(HTTPRequest(url: base + path)) }
                #expect(error.code == .responseTooLarge)
                // The client is still usable afterwards.
                #expect(try await client.send(HTTPRequest(url: base + "/bytes/10")).body.count == 10)
            }
        }
    }

    @Test("https to a plain-HTTP port fails the TLS handshake")
    func tlsToPlainHTTP() async throws {
        try await withTestServer { base in
            try await withClient { client in
                let url = base.replacingOccurrences(of: "http://", with: "https://") + "/echo"
                let error = try await expectClientError { try await client.send(HTTPRequest(url: url)) }
                #expect(error.code == .tls)
            }
        }
    }

    @Test("a self-signed certificate is refused: peer verification is on",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func selfSignedCertificate() async throws {
        let server = try await SelfSignedTLSServer.start()
        defer { server.stop() }
        try await withClient { client in
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/", timeout: .seconds(5)))
            }
            #expect(error.code == .tls)
            #expect(error.curlCode == 60)  // CURLE_PEER_FAILED_VERIFICATION
        }
    }

    @Test("error descriptions and logs name the host but never credentials, path or query")
    func redaction() async throws {
        let port = try closedLoopbackPort()
        let logs = LogRecorder()
        try await withClient(logs: logs) { client in
            var request = HTTPRequest(url: "http://user:hunter2@127.0.0.1:\(port)/v1/send?token=topsecret&to=%2B15551234567",
                                      body: Array("pin=918273".utf8))
            request.basicAuth = (username: "AC1", password: "authsecret")
            let error = try await expectClientError { try await client.send(request) }
            #expect(error.code == .couldNotConnect)
            #expect(error.host == "127.0.0.1:\(port)")
            for text in [error.description, String(reflecting: error), "\(request)", logs.text] {
                #expect(!text.isEmpty)
                for secret in ["hunter2", "topsecret", "15551234567", "918273", "authsecret", "/v1/send"] {
                    #expect(!text.contains(secret), "\(secret) leaked into: \(text)")
                }
            }
            #expect(error.description.contains("127.0.0.1:\(port)"))
            #expect(logs.text.contains("HTTP request failed"))
        }
    }
}
