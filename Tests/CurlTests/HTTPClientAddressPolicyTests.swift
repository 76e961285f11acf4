import Curl
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Over real loopback sockets: the policy is enforced on the address being connected to.
/// `RawServer` counts the connections it accepts, so "refused" means nothing reached the server.
@Suite("the address policy refuses connections before they are made")
struct HTTPClientAddressPolicyTests {
    static let ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    private static let strict = AddressPolicy(allowPrivateNetworks: false)
    private static let relaxed = AddressPolicy(allowPrivateNetworks: true)

    /// Lets a connection the client might have opened reach `accept` before counting.
    private func settle() async {
        try? await Task.sleep(for: .milliseconds(100))
    }

    @Test("without private networks, 127.0.0.1 fails with .addressNotAllowed and the server sees no connection")
    func loopbackRefused() async throws {
        let server = try RawServer(response: Self.ok)
        defer { server.stop() }
        try await withClient({ $0.addressPolicy = Self.strict }) { client in
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/send"))
            }
            #expect(error.code == .addressNotAllowed)
            #expect(error.code != .couldNotConnect)
            #expect(error.description == "HTTPClientError.addressNotAllowed (curl 7) host: 127.0.0.1:\(server.port)")
            #expect(String(reflecting: error).hasSuffix("the address policy refused a connection to 127.0.0.1 (loopback)"))
        }
        await settle()
        #expect(server.acceptedCount == 0)
    }

    @Test("with private networks allowed, the same request goes through", arguments: ["127.0.0.1", "localhost"])
    func loopbackAllowed(host: String) async throws {
        let server = try RawServer(response: Self.ok)
        defer { server.stop() }
        try await withClient({ $0.addressPolicy = Self.relaxed }) { client in
            let response = try await client.send(HTTPRequest(url: "http://\(host):\(server.port)/send"))
            #expect(response.status == 200)
            #expect(response.body == Array("ok".utf8))
        }
        #expect(server.acceptedCount == 1)
    }

    // The shape of DNS rebinding: the URL names a host, and only the address it resolves to, at
    // connection time, says it is loopback. Nothing in the URL is checked by the client.
    @Test("a host name that resolves to loopback is refused on its resolved address")
    func nameResolvingToLoopback() async throws {
        let server = try RawServer(response: Self.ok)
        defer { server.stop() }
        try await withClient({ $0.addressPolicy = Self.strict }) { client in
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "http://localhost:\(server.port)/"))
            }
            #expect(error.code == .addressNotAllowed)
            #expect(error.description.hasSuffix("host: localhost:\(server.port)"))
            #expect(String(reflecting: error).hasSuffix("(loopback)"))
        }
        await settle()
        #expect(server.acceptedCount == 0)
    }

    @Test("other spellings of a loopback address are refused too",
          arguments: ["127.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.0.0.2", "0.0.0.0", "[::1]", "[::ffff:127.0.0.1]", "[::]"])
    func loopbackSpellings(host: String) async throws {
        let server = try RawServer(response: Self.ok)
        defer { server.stop() }
        try await withClient({ $0.addressPolicy = Self.strict }) { client in
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "http://\(host):\(server.port)/", timeout: .seconds(2)))
            }
            #expect(error.code == .addressNotAllowed, "\(host): \(String(reflecting: error))")
        }
        await settle()
        #expect(server.acceptedCount == 0)
    }

    // Refused before a socket exists, so no network is needed and nothing waits for a timeout.
    @Test("link-local and metadata addresses are refused even with private networks allowed",
          arguments: ["169.254.169.254", "169.254.0.1", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "[fd00:ec2::254]",
                      "[fd20:ce::254]", "[fe80::1]", "100.100.100.200", "2852039166"])
    func metadataRefused(host: String) async throws {
        try await withClient({ $0.addressPolicy = Self.relaxed }) { client in
            // A connect attempt would end in .timeout or .couldNotConnect: the code shows it was refused first.
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "http://\(host)/latest/meta-data/", timeout: .seconds(2)))
            }
            #expect(error.code == .addressNotAllowed, "\(host): \(String(reflecting: error))")
        }
    }

    @Test("a redirect from an allowed server to a refused address is refused, and its target never connected to")
    func redirectToRefusedAddress() async throws {
        let target = try RawServer(response: Self.ok, address: "127.0.0.2")
        defer { target.stop() }
        let redirector = try RawServer(
            response: "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:\(target.port)/inside\r\nContent-Length: 0\r\n\r\n")
        defer { redirector.stop() }
        let url = "http://127.0.0.1:\(redirector.port)/start"
        let policy = AddressPolicy(allowPrivateNetworks: true, deniedNetworks: [try #require(IPNetwork("127.0.0.2/32"))])

        try await withClient({ $0.followRedirects = true; $0.addressPolicy = policy }) { client in
            let error = try await expectClientError { try await client.send(HTTPRequest(url: url)) }
            #expect(error.code == .addressNotAllowed)
            #expect(String(reflecting: error).hasSuffix("refused a connection to 127.0.0.2 (loopback)"))
        }
        await settle()
        #expect(redirector.acceptedCount == 1, "the first hop was allowed")
        #expect(target.acceptedCount == 0, "the redirect's target was not")

        // The same redirect without the denied block reaches the target: the refusal above was the policy's.
        try await withClient({ $0.followRedirects = true; $0.addressPolicy = Self.relaxed }) { client in
            let response = try await client.send(HTTPRequest(url: url))
            #expect(response.status == 200)
        }
        #expect(target.acceptedCount == 1)
    }

    @Test("a proxy from the environment does not carry a request past the policy")
    func environmentProxyIgnored() async throws {
        let proxy = try RawServer(response: Self.ok)
        defer { proxy.stop() }
        let target = try RawServer(response: Self.ok, address: "127.0.0.2")
        defer { target.stop() }
        // Through a proxy, the only address the client connects to would be the proxy's (allowed).
        // The client sets CURLOPT_PROXY and CURLOPT_NOPROXY, so libcurl never reads the variable.
        // One variable, set once and never removed, is safe for tests reading the environment
        // meanwhile (glibc's first setenv copies the array rather than freeing it).
        setenv("all_proxy", "http://127.0.0.1:\(proxy.port)", 1)
        let policy = AddressPolicy(allowPrivateNetworks: true, deniedNetworks: [try #require(IPNetwork("127.0.0.2/32"))])
        try await withClient({ $0.addressPolicy = policy }) { client in
            let error = try await expectClientError {
                try await client.send(HTTPRequest(url: "http://127.0.0.2:\(target.port)/"))
            }
            #expect(error.code == .addressNotAllowed)
        }
        await settle()
        #expect(proxy.acceptedCount == 0)
        #expect(target.acceptedCount == 0)
    }

    @Test("with a policy that allows the address, a closed port is still .couldNotConnect")
    func closedPortStaysCouldNotConnect() async throws {
        let port = try closedLoopbackPort()
        try await withClient({ $0.addressPolicy = Self.relaxed }) { client in
            let error = try await expectClientError { try await client.send(HTTPRequest(url: "http://127.0.0.1:\(port)/")) }
            #expect(error.code == .couldNotConnect)
        }
    }

    @Test("connections kept alive under a policy are reused: the check costs nothing per request")
    func keepAliveUnderPolicy() async throws {
        try await withTestServer { base in
            try await withClient({ $0.addressPolicy = Self.relaxed }) { client in
                for _ in 0..<5 {
                    let response = try await client.send(HTTPRequest(url: base + "/status/200"))
                    #expect(response.status == 200)
                }
                #expect(client.statistics.connectionsOpened == 1)
            }
        }
    }
}
