import Curl
import Foundation
import Testing

@Suite("round trips against a loopback Hummingbird server")
struct HTTPClientRoundTripTests {
    private func echoed(_ response: HTTPResponse) throws -> EchoedRequest {
        try JSONDecoder().decode(EchoedRequest.self, from: Data(response.body))
    }

    @Test("a GET sends exactly the method, path, query and headers given")
    func getRoundTrip() async throws {
        try await withTestServer { base in
            try await withClient { client in
                var headers: HTTPHeaders = ["X-Trace": "abc-123"]
                headers.add(name: "X-Multi", value: "1")
                headers.add(name: "X-Multi", value: "2")
                headers.add(name: "X-Empty", value: "")
                let response = try await client.send(HTTPRequest(url: base + "/echo/some/path?to=%2B15551234567&x=a+b", headers: headers))
                #expect(response.status == 200)
                #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
                let seen = try echoed(response)
                #expect(seen.method == "GET")
                #expect(seen.path == "/echo/some/path")
                #expect(seen.query == "to=%2B15551234567&x=a+b")
                #expect(seen.values("x-trace") == ["abc-123"])
                #expect(seen.values("x-multi") == ["1", "2"])
                #expect(seen.values("x-empty") == [""])
                #expect(seen.values("user-agent") == ["Herald"])
                #expect(seen.authority == String(base.dropFirst("http://".count)))
                #expect(seen.values("expect").isEmpty)
                #expect(seen.values("content-length").isEmpty)
                #expect(seen.body.isEmpty)
            }
        }
    }

    @Test("a form POST sends its body byte for byte with its length and type")
    func formPost() async throws {
        try await withTestServer { base in
            try await withClient { client in
                let form = Array("to=%2B15551234567&body=Hello+%C3%A9t%C3%A9%21&from=Herald".utf8)
                let response = try await client.send(HTTPRequest(
                    method: .POST, url: base + "/echo/messages",
                    headers: ["Content-Type": "application/x-www-form-urlencoded"], body: form))
                let seen = try echoed(response)
                #expect(seen.method == "POST")
                #expect(seen.path == "/echo/messages")
                #expect(seen.body == form)
                #expect(seen.values("content-type") == ["application/x-www-form-urlencoded"])
                #expect(seen.values("content-length") == ["\(form.count)"])
                #expect(seen.values("expect").isEmpty)
            }
        }
    }

    @Test("a JSON POST with basic auth sends the exact Authorization header")
    func jsonPostWithBasicAuth() async throws {
        try await withTestServer { base in
            try await withClient { client in
                let json = Array(#"{"to":"+15551234567","text":"Code: 123456 ✓"}"#.utf8)
                var request = HTTPRequest(
                    method: .POST, url: base + "/echo/2010-04-01/Accounts/AC123/Messages.json",
                    headers: ["Content-Type": "application/json", "Accept": "application/json"], body: json)
                request.basicAuth = (username: "AC123", password: "s3cr:et@pw")
                let seen = try echoed(try await client.send(request))
                #expect(seen.body == json)
                #expect(seen.values("content-type") == ["application/json"])
                #expect(seen.values("accept") == ["application/json"])
                let credentials = Data("AC123:s3cr:et@pw".utf8).base64EncodedString()
                #expect(seen.values("authorization") == ["Basic \(credentials)"])
            }
        }
    }

    @Test("PUT, PATCH and DELETE send their method; without a body PUT and PATCH send Content-Length 0",
          arguments: [HTTPRequest.Method.PUT, .PATCH, .DELETE])
    func otherMethods(method: HTTPRequest.Method) async throws {
        try await withTestServer { base in
            try await withClient { client in
                let empty = try echoed(try await client.send(HTTPRequest(method: method, url: base + "/echo/x")))
                #expect(empty.method == method.rawValue)
                #expect(empty.body.isEmpty)
                if method != .DELETE { #expect(empty.values("content-length") == ["0"]) }
                let withBody = try echoed(try await client.send(HTTPRequest(
                    method: method, url: base + "/echo/x", headers: ["Content-Type": "text/plain"], body: Array("payload".utf8))))
                #expect(withBody.method == method.rawValue)
                #expect(withBody.bodyBase64 == Data("payload".utf8).base64EncodedString())
            }
        }
    }

    @Test("a recycled handle carries nothing over: method, body, auth and headers are per request")
    func recycledHandle() async throws {
        try await withTestServer { base in
            // One slot, so every request reuses the same easy handle.
            try await withClient({ $0.maxConcurrentTransfers = 1 }) { client in
                var authorized = HTTPRequest(method: .PUT, url: base + "/echo/1", headers: ["X-Only": "first"], body: Array("a=1".utf8))
                authorized.basicAuth = (username: "u", password: "p")
                var seen = try echoed(try await client.send(authorized))
                #expect(seen.method == "PUT")
                #expect(seen.values("authorization").count == 1)
                #expect(try await client.send(HTTPRequest(method: .HEAD, url: base + "/echo/2")).body.isEmpty)
                seen = try echoed(try await client.send(HTTPRequest(method: .POST, url: base + "/echo/3", body: Array("b=2".utf8))))
                #expect(seen.method == "POST")
                #expect(seen.body == Array("b=2".utf8))
                #expect(seen.values("authorization").isEmpty)
                #expect(seen.values("x-only").isEmpty)
                seen = try echoed(try await client.send(HTTPRequest(url: base + "/echo/4")))
                #expect(seen.method == "GET")
                #expect(seen.body.isEmpty)
                #expect(seen.values("content-length").isEmpty)
                seen = try echoed(try await client.send(HTTPRequest(method: .DELETE, url: base + "/echo/5")))
                #expect(seen.method == "DELETE")
                #expect(seen.body.isEmpty)
                seen = try echoed(try await client.send(HTTPRequest(method: .POST, url: base + "/echo/6")))
                #expect(seen.method == "POST")
                #expect(seen.values("content-length") == ["0"])
                _ = try await client.send(HTTPRequest(method: .HEAD, url: base + "/echo/7"))
                seen = try echoed(try await client.send(HTTPRequest(url: base + "/echo/8")))
                #expect(seen.method == "GET")
                #expect(seen.path == "/echo/8")
                #expect(client.statistics.connectionsOpened == 1)
            }
        }
    }

    @Test("HEAD gets the status and headers and no body")
    func head() async throws {
        try await withTestServer { base in
            try await withClient { client in
                let response = try await client.send(HTTPRequest(method: .HEAD, url: base + "/echo"))
                #expect(response.status == 200)
                #expect(response.body.isEmpty)
            }
        }
    }

    @Test("a 2 MiB binary body goes through intact, without Expect: 100-continue")
    func largeBody() async throws {
        try await withTestServer { base in
            try await withClient { client in
                let body = (0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
                let seen = try echoed(try await client.send(HTTPRequest(
                    method: .POST, url: base + "/echo", headers: ["Content-Type": "application/octet-stream"], body: body)))
                #expect(seen.body == body)
                #expect(seen.values("expect").isEmpty)
            }
        }
    }

    @Test("the response carries status, repeated headers in order, and body")
    func responseParts() async throws {
        try await withTestServer { base in
            try await withClient { client in
                let response = try await client.send(HTTPRequest(url: base + "/status/201"))
                #expect(response.status == 201)
                #expect(response.headers["X-MULTI"] == "a")
                #expect(response.headers.values("x-multi") == ["a", "b"])
                #expect(response.headers["Content-Length"] == "7")
                #expect(response.bodyText == "created")
                let missing = try await client.send(HTTPRequest(url: base + "/nothing-here"))
                #expect(missing.status == 404)
            }
        }
    }

    @Test("a response exactly at maxResponseBytes is accepted")
    func responseAtTheLimit() async throws {
        try await withTestServer { base in
            try await withClient({ $0.maxResponseBytes = 100_000 }) { client in
                let fixed = try await client.send(HTTPRequest(url: base + "/bytes/100000"))
                #expect(fixed.body.count == 100_000)
                let chunked = try await client.send(HTTPRequest(url: base + "/chunked/100000"))
                #expect(chunked.body.count == 100_000)
                #expect(chunked.headers["transfer-encoding"] == "chunked")
            }
        }
    }

    @Test("followRedirects follows an http redirect and returns only the final response's headers")
    func followsHTTPRedirect() async throws {
        try await withTestServer { base in
            try await withClient({ $0.followRedirects = true }) { client in
                let response = try await client.send(HTTPRequest(url: base + "/redirect/echo"))
                #expect(response.status == 200)
                #expect(response.headers["x-hop"] == nil)
                #expect(response.headers["location"] == nil)
                #expect(try echoed(response).path == "/echo/after-redirect")
            }
        }
    }

    @Test("a raw response with folded and oddly spaced header lines parses")
    func rawResponseHeaders() async throws {
        let server = try RawServer(response: "HTTP/1.1 200 OK\r\nX-A:  padded value \t\r\nX-Folded: first\r\n\tsecond\r\nContent-Length: 2\r\n\r\nok")
        defer { server.stop() }
        try await withClient { client in
            let response = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/"))
            #expect(response.status == 200)
            #expect(response.headers["x-a"] == "padded value")
            #expect(response.headers["x-folded"] == "first second")
            #expect(response.bodyText == "ok")
        }
    }
}
