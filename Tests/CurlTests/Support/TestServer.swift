import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// What the test server saw of a request, sent back as JSON by `/echo`.
struct EchoedRequest: ResponseCodable {
    var method: String
    /// The Host header (HTTPTypes keeps it as the request's authority, not as a field).
    var authority: String?
    var path: String
    var query: String?
    /// Lower-cased names, in order received.
    var headers: [[String]]
    var bodyBase64: String

    var body: [UInt8] { Array(Data(base64Encoded: bodyBase64) ?? Data()) }

    func values(_ name: String) -> [String] {
        headers.filter { $0[0] == name.lowercased() }.map { $0[1] }
    }
}

/// Runs a Hummingbird server on 127.0.0.1 with an OS-chosen port for the duration of `body`,
/// which gets the base URL (`http://127.0.0.1:PORT`).
func withTestServer<Result: Sendable>(
    _ body: @Sendable (_ baseURL: String) async throws -> Result
) async throws -> Result {
    let (ports, portContinuation) = AsyncStream<Int>.makeStream()
    let app = Application(
        router: testRouter(),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        },
        logger: Logger(label: "CurlTests.server", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            group.cancelAll()
            throw TestFailure("the test server did not start")
        }
        do {
            let result = try await body("http://127.0.0.1:\(port)")
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

private func testRouter() -> Router<BasicRequestContext> {
    let router = Router()
    let echo: @Sendable (Request, BasicRequestContext) async throws -> EchoedRequest = { request, _ in
        var request = request
        let body = try await request.collectBody(upTo: 16 << 20)
        return EchoedRequest(
            method: request.method.rawValue,
            authority: request.head.authority,
            path: request.uri.path,
            query: request.uri.query,
            headers: request.headers.map { [$0.name.canonicalName, $0.value] },
            bodyBase64: Data(body.readableBytesView).base64EncodedString()
        )
    }
    for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .head] {
        router.on("/echo", method: method, use: echo)
        router.on("/echo/**", method: method, use: echo)
    }
    // The query string as a text body: cheap enough for the load tests.
    router.get("/query") { request, _ in
        request.uri.query ?? ""
    }
    router.get("/status/{code}") { _, context in
        let code = try context.parameters.require("code", as: Int.self)
        var headers = HTTPFields()
        headers[values: HTTPField.Name("X-Multi")!] = ["a", "b"]
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .init(code: code), headers: headers, body: .init(byteBuffer: ByteBuffer(string: "created")))
    }
    router.get("/redirect/file") { _, _ in
        Response(status: .found, headers: [.location: "file:///etc/passwd"])
    }
    router.get("/redirect/echo") { _, _ in
        Response(status: .found, headers: [.location: "/echo/after-redirect", HTTPField.Name("X-Hop")!: "first"])
    }
    router.get("/redirect/loop") { _, _ in
        Response(status: .found, headers: [.location: "/redirect/loop"])
    }
    // `count` bytes with a Content-Length.
    router.get("/bytes/{count}") { _, context in
        let count = try context.parameters.require("count", as: Int.self)
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: count)))
    }
    // `count` bytes, chunked (no Content-Length), in 16 KiB writes.
    router.get("/chunked/{count}") { _, context in
        let count = try context.parameters.require("count", as: Int.self)
        return Response(status: .ok, body: ResponseBody { writer in
            var left = count
            while left > 0 {
                let chunk = min(left, 16 << 10)
                try await writer.write(ByteBuffer(repeating: UInt8(ascii: "x"), count: chunk))
                left -= chunk
            }
            try await writer.finish(nil)
        })
    }
    return router
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
