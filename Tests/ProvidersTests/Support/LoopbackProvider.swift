import Curl
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Providers

/// A request exactly as the loopback provider received it over the wire.
struct CapturedRequest: Sendable {
    var method: String
    /// Path with the query string, as sent.
    var target: String
    var path: String
    var query: String?
    /// Lower-cased names, in the order received.
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }
    var bodyText: String { String(decoding: body, as: UTF8.self) }
    /// The body decoded as a form, in order.
    func form() throws -> [(String, String)] { try FormEncoding.decode(body) }
    /// The body decoded as a JSON object.
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw LoopbackError("the body is not a JSON object")
        }
        return object
    }
}

struct LoopbackError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A real HTTP server on 127.0.0.1 standing in for a provider: it records every request and
/// answers with what `reply` returns. Adapters' `WireRequest`s reach it through Herald's own
/// `Curl` client, so a test sees the exact bytes a provider would.
final class LoopbackProvider: @unchecked Sendable {
    // @unchecked Sendable: `captured` is only touched under `lock`.
    private let lock = NSLock()
    private var captured: [CapturedRequest] = []
    let baseURL: String
    let client: HTTPClient

    private init(baseURL: String, client: HTTPClient) {
        self.baseURL = baseURL
        self.client = client
    }

    var requests: [CapturedRequest] { lock.withLock { captured } }

    fileprivate func record(_ request: CapturedRequest) { lock.withLock { captured.append(request) } }

    /// Sends `request` through the `Curl` client and returns the answer as a `WireResponse`.
    func send(_ request: WireRequest) async throws -> WireResponse {
        var headers = Curl.HTTPHeaders()
        for header in request.headers { headers.add(name: header.name, value: header.value) }
        guard let method = Curl.HTTPRequest.Method(rawValue: request.method) else {
            throw LoopbackError("unsupported method \(request.method)")
        }
        let response = try await client.send(Curl.HTTPRequest(
            method: method, url: request.url, headers: headers,
            body: request.body.isEmpty ? nil : request.body, timeout: .seconds(10)))
        var replyHeaders: [String: String] = [:]
        for (name, value) in response.headers { replyHeaders[name.lowercased()] = value }
        return WireResponse(status: response.status, headers: replyHeaders, body: response.body)
    }

    /// Runs `body` with a provider on a fresh port whose answers come from `reply`.
    static func run<Result: Sendable>(
        reply: @escaping @Sendable (CapturedRequest) -> WireResponse,
        _ body: @Sendable (LoopbackProvider) async throws -> Result
    ) async throws -> Result {
        let holder = LoopbackHolder()
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            var request = request
            let bytes = try await request.collectBody(upTo: 4 << 20)
            let captured = CapturedRequest(
                method: request.method.rawValue,
                target: request.uri.string,
                path: request.uri.path,
                query: request.uri.query,
                headers: request.headers.map { ($0.name.canonicalName, $0.value) },
                body: Array(bytes.readableBytesView))
            holder.provider?.record(captured)
            let answer = reply(captured)
            var fields = HTTPFields()
            for (name, value) in answer.headers {
                if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
            }
            return Response(status: .init(code: answer.status), headers: fields,
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            router.on("/**", method: method, use: handler)
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: Logger(label: "ProvidersTests.loopback", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                group.cancelAll()
                throw LoopbackError("the loopback provider did not start")
            }
            let client = HTTPClient(configuration: .init(), logger: Logger(label: "ProvidersTests.client", factory: { _ in SwiftLogNoOpLogHandler() }))
            let provider = LoopbackProvider(baseURL: "http://127.0.0.1:\(port)", client: client)
            holder.provider = provider
            do {
                let result = try await body(provider)
                await client.shutdown()
                group.cancelAll()
                return result
            } catch {
                await client.shutdown()
                group.cancelAll()
                throw error
            }
        }
    }
}

private final class LoopbackHolder: @unchecked Sendable {
    // @unchecked Sendable: written once before the first request can arrive.
    var provider: LoopbackProvider?
}

extension WireResponse {
    static func json(_ status: Int, _ text: String, headers: [String: String] = [:]) -> WireResponse {
        WireResponse(status: status, headers: headers.merging(["content-type": "application/json"]) { a, _ in a }, body: Array(text.utf8))
    }
    static func xml(_ status: Int, _ text: String) -> WireResponse {
        WireResponse(status: status, headers: ["content-type": "application/xml"], body: Array(text.utf8))
    }
}
