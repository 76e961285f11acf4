import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A provider on a real loopback port whose answers a test scripts, recording every request
/// (time, path, body) so tests can check what Herald's dispatcher actually sent.
final class ScriptedProvider: Sendable {
    struct Seen: Sendable {
        var at: ContinuousClock.Instant
        var wall: Date
        var path: String
        var body: String
        /// Lower-cased names.
        var headers: [String: String] = [:]
    }
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String = ""
        /// Held this long before answering (a slow provider), after the request is recorded.
        var delay: Duration? = nil
    }

    let baseURL: String
    private let seen = Mutex<[Seen]>([])

    private init(baseURL: String) { self.baseURL = baseURL }

    var requests: [Seen] { seen.withLock { $0 } }
    fileprivate func record(_ request: Seen) { seen.withLock { $0.append(request) } }

    static func run<T: Sendable>(
        answer: @escaping @Sendable (_ path: String, _ body: String, _ count: Int) -> Answer,
        _ body: @Sendable (ScriptedProvider) async throws -> T
    ) async throws -> T {
        let holder = Holder()
        let router = Router()
        router.post("/**") { request, _ -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            let text = String(buffer: bytes)
            let path = request.uri.path
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let count = holder.provider?.seen.withLock { seen in
                seen.append(Seen(at: .now, wall: Date(), path: path, body: text, headers: headers))
                return seen.count
            } ?? 0
            let reply = answer(path, text, count)
            if let delay = reply.delay { try await Task.sleep(for: delay) }
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            for (name, value) in reply.headers { fields[HTTPField.Name(name)!] = value }
            return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: reply.body)))
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: Logger(label: "scripted-provider", factory: { _ in SwiftLogNoOpLogHandler() }))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            let provider = ScriptedProvider(baseURL: "http://127.0.0.1:\(port)")
            holder.provider = provider
            defer { group.cancelAll() }
            return try await body(provider)
        }
    }

    private final class Holder: @unchecked Sendable {
        // @unchecked Sendable: set once before the first request can arrive.
        var provider: ScriptedProvider?
    }
}
