import Foundation
import Logging
import Postgres
import PostgresTestSupport
import Testing

let quietLogger = Logger(label: "herald.test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `body` with a connection to a fresh database on the shared cluster, closing and dropping both afterwards.
func withTestConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
    let cluster = try await TestCluster.shared()
    return try await cluster.withDatabase { configuration in
        let connection = try await PostgresConnection.connect(configuration, logger: quietLogger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }
}

/// Runs `body` with a pool over a fresh database on the shared cluster.
func withTestPool<T>(
    maxConnections: Int = 4,
    acquireTimeout: Duration = .seconds(5),
    idleHealthCheckAfter: Duration = .seconds(30),
    _ body: (PostgresPool, PostgresConfiguration) async throws -> T
) async throws -> T {
    let cluster = try await TestCluster.shared()
    return try await cluster.withDatabase { configuration in
        let pool = PostgresPool(
            configuration: configuration, maxConnections: maxConnections, acquireTimeout: acquireTimeout,
            idleHealthCheckAfter: idleHealthCheckAfter, logger: quietLogger
        )
        do {
            let result = try await body(pool, configuration)
            await pool.close()
            return result
        } catch {
            await pool.close()
            throw error
        }
    }
}

/// Expects `body` to throw a `PostgresError` and returns it.
func expectPostgresError<T>(
    _ body: () async throws -> T,
    sourceLocation: SourceLocation = #_sourceLocation
) async -> PostgresError? {
    do {
        _ = try await body()
        Issue.record("expected a PostgresError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as PostgresError {
        return error
    } catch {
        Issue.record("expected a PostgresError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// A one-shot signal tasks can wait on.
final class Gate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    }

    func open() { continuation.finish() }

    func wait() async {
        for await _ in stream {}
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes.
func eventually(
    timeout: Duration = .seconds(30),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}
