import Curl
import Foundation
import Logging

/// Runs `body` with a fresh client, and shuts the client down afterwards, even on failure.
func withClient<Result: Sendable>(
    _ configure: (inout HTTPClient.Configuration) -> Void = { _ in },
    logs: LogRecorder = LogRecorder(),
    _ body: (HTTPClient) async throws -> Result
) async throws -> Result {
    var configuration = HTTPClient.Configuration()
    configure(&configuration)
    let client = HTTPClient(configuration: configuration, logger: logs.logger)
    do {
        let result = try await body(client)
        await client.shutdown()
        return result
    } catch {
        await client.shutdown()
        throw error
    }
}

/// Runs `operation`, which must throw an `HTTPClientError`, and returns it.
func expectClientError(
    _ operation: () async throws -> some Any
) async throws -> HTTPClientError {
    do {
        _ = try await operation()
    } catch let error as HTTPClientError {
        return error
    }
    throw TestFailure("expected an HTTPClientError, got a response")
}

/// Runs `operation` and returns its result with how long it took.
func timed<T>(_ operation: () async throws -> T) async rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let result = try await operation()
    return (result, ContinuousClock.now - start)
}

/// An in-memory log handler: each test reads what its own client logged.
final class LogRecorder: @unchecked Sendable {
    // @unchecked Sendable: `lines` is only touched under `lock`.
    private let lock = NSLock()
    private var lines: [String] = []

    var logger: Logger {
        var logger = Logger(label: "CurlTests.client") { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    var text: String { lock.withLock { lines.joined(separator: "\n") } }

    fileprivate func record(_ line: String) {
        lock.withLock { lines.append(line) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.record("\(event.level) \(event.message) \(merged.sorted { $0.key < $1.key })")
        }
    }
}
