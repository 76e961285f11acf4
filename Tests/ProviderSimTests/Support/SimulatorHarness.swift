import Curl
import Foundation
import Hummingbird
import Logging
import ProviderSim
import Providers

typealias HTTPRequest = Curl.HTTPRequest
typealias HTTPResponse = Curl.HTTPResponse
typealias HTTPHeaders = Curl.HTTPHeaders

let quietLogger = Logger(label: "ProviderSimTests", factory: { _ in SwiftLogNoOpLogHandler() })

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A simulator on a fresh loopback port, reached over real HTTP through the `Curl` client.
struct RunningSimulator: Sendable {
    let simulator: ProviderSimulator
    let baseURL: String
    let client: HTTPClient

    static let accountSID = "AC0123456789abcdef0123456789abcdef"
    static let authToken = "sim-auth-token"

    var twilioMessagesURL: String { baseURL + "/2010-04-01/Accounts/\(Self.accountSID)/Messages.json" }
    var twilioCallsURL: String { baseURL + "/2010-04-01/Accounts/\(Self.accountSID)/Calls.json" }

    /// Runs `body` with a simulator built from the defaults (port 0, seed 7, no receipt delay)
    /// changed by `configure`.
    static func with<Result: Sendable>(
        _ configure: (inout SimulatorOptions) -> Void = { _ in },
        _ body: @Sendable (RunningSimulator) async throws -> Result
    ) async throws -> Result {
        var options = SimulatorOptions()
        options.port = 0
        options.seed = 7
        options.receiptDelayMs = 0
        configure(&options)
        let simulator = try ProviderSimulator(options: options, logger: quietLogger)
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { portContinuation.finish() }
                try await simulator.run { port in portContinuation.yield(port) }
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                group.cancelAll()
                throw HarnessError("the simulator did not start")
            }
            let client = HTTPClient(configuration: .init(), logger: quietLogger)
            let running = RunningSimulator(simulator: simulator, baseURL: "http://127.0.0.1:\(port)", client: client)
            do {
                let result = try await body(running)
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

    func post(
        _ url: String, form: [(String, String)], basicAuth: (String, String)? = nil,
        headers: HTTPHeaders = [:], timeout: Duration = .seconds(10)
    ) async throws -> HTTPResponse {
        var request = HTTPRequest(method: .POST, url: url, headers: headers, body: Array(FormEncoding.encode(form).utf8),
                                  timeout: timeout)
        if request.headers["Content-Type"] == nil {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        }
        request.basicAuth = basicAuth.map { (username: $0.0, password: $0.1) }
        return try await client.send(request)
    }

    /// POSTs to Twilio's Messages.json with the right credentials.
    func sendTwilio(_ form: [(String, String)], timeout: Duration = .seconds(10)) async throws -> HTTPResponse {
        try await post(twilioMessagesURL, form: form, basicAuth: (Self.accountSID, Self.authToken), timeout: timeout)
    }

    func sendVonage(_ form: [(String, String)]) async throws -> HTTPResponse {
        try await post(baseURL + "/sms/json", form: form)
    }

    func get(_ path: String) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: .GET, url: baseURL + path))
    }

    func delete(_ path: String) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: .DELETE, url: baseURL + path))
    }

    func postJSON(_ path: String, _ text: String) async throws -> HTTPResponse {
        try await client.send(HTTPRequest(method: .POST, url: baseURL + path,
                                             headers: ["Content-Type": "application/json"], body: Array(text.utf8)))
    }

    func stats() async throws -> [String: Int] {
        let object = try (try await get("/sim/stats")).jsonObject()
        return object.compactMapValues { ($0 as? NSNumber)?.intValue }
    }

    func listedMessages(query: String = "") async throws -> [[String: Any]] {
        let object = try (try await get("/sim/messages" + query)).jsonObject()
        guard let data = object["data"] as? [[String: Any]] else { throw HarnessError("no data array") }
        return data
    }

    /// Waits until `condition` holds on the statistics, or fails after `timeout`.
    func waitForStats(timeout: Duration = .seconds(10), _ condition: ([String: Int]) -> Bool) async throws -> [String: Int] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let current = try await stats()
            if condition(current) { return current }
            guard ContinuousClock.now < deadline else { throw HarnessError("statistics never matched: \(current)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension HTTPResponse {
    func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw HarnessError("not a JSON object: \(bodyText)")
        }
        return object
    }
}

/// A receipt as the callback server received it.
struct ReceivedCallback: Sendable {
    /// Scheme, host, port, path and query: the URL the simulator called.
    var url: String
    /// Lower-cased names.
    var headers: [String: String]
    var form: [(String, String)]

    func value(_ name: String) -> String? { form.first { $0.0 == name }?.1 }
}

/// A loopback Hummingbird server standing in for Herald's webhook endpoint: it records every
/// POST and answers with `status`.
struct CallbackServer: Sendable {
    let baseURL: String
    let received: AsyncStream<ReceivedCallback>

    static func with<Result: Sendable>(
        status: Int = 200,
        _ body: @Sendable (CallbackServer) async throws -> Result
    ) async throws -> Result {
        let (received, continuation) = AsyncStream<ReceivedCallback>.makeStream()
        let portBox = PortBox()
        let router = Router()
        router.post("/**") { request, _ -> Response in
            var request = request
            let bytes = try await request.collectBody(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let form = (try? FormEncoding.decode(Array(bytes.readableBytesView))) ?? []
            continuation.yield(ReceivedCallback(url: "http://127.0.0.1:\(portBox.port)" + request.uri.string,
                                                headers: headers, form: form))
            return Response(status: .init(code: status))
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                group.cancelAll()
                throw HarnessError("the callback server did not start")
            }
            portBox.port = port
            do {
                let result = try await body(CallbackServer(baseURL: "http://127.0.0.1:\(port)", received: received))
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// The next `count` callbacks, or a failure after `timeout`.
    func next(_ count: Int = 1, timeout: Duration = .seconds(10)) async throws -> [ReceivedCallback] {
        let received = self.received
        return try await withThrowingTaskGroup(of: [ReceivedCallback]?.self) { group in
            group.addTask {
                var collected: [ReceivedCallback] = []
                for await callback in received {
                    collected.append(callback)
                    if collected.count == count { break }
                }
                return collected
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let first, first.count == count else { throw HarnessError("expected \(count) callbacks in time") }
            return first
        }
    }
}

private final class PortBox: @unchecked Sendable {
    // @unchecked Sendable: written once before the server can receive its first request.
    var port = 0
}
