import CLibPQ
import Foundation
import Logging

/// A NOTIFY message received on a channel this connection listens to.
public struct PostgresNotification: Sendable {
    public let channel: String
    public let payload: String
    /// The process ID of the backend that sent it.
    public let backendPID: Int32
}

/// A transaction's isolation level.
public enum PostgresIsolationLevel: Sendable {
    case readCommitted, repeatableRead, serializable

    var beginStatement: String {
        switch self {
        case .readCommitted: "BEGIN ISOLATION LEVEL READ COMMITTED"
        case .repeatableRead: "BEGIN ISOLATION LEVEL REPEATABLE READ"
        case .serializable: "BEGIN ISOLATION LEVEL SERIALIZABLE"
        }
    }
}

/// One connection to PostgreSQL through libpq.
///
/// ## Threading
/// Each connection owns a dedicated thread that holds the `PGconn*` and makes every libpq call for it; async methods
/// hand that thread a job and suspend on a continuation, so nothing ever blocks Swift's cooperative pool. This was
/// chosen over libpq's non-blocking mode driven by one poll loop because:
/// - libpq still blocks in places even in non-blocking mode (`PQcancel`, DNS and TLS during connect, `PQgetResult`
///   corner cases), and those would have to be special-cased onto other threads anyway;
/// - the connection stays a plain, blocking-style state machine that is easy to reason about, with statement
///   timeouts, task cancellation (`PQcancel`), COPY and LISTEN all handled in one `poll(2)` loop on that thread;
/// - threads are cheap at pool sizes (tens of connections).
/// While idle, the thread sleeps in `poll(2)` on the socket and a wake-up pipe, so NOTIFY messages are delivered at
/// once and a server that hung up is noticed before the next query. For a plain statement on an idle connection the
/// caller sends it itself (a small write that cannot block) and the server's reply wakes the thread, so a statement
/// costs one wake-up of the connection's thread and one of the calling task. A statement run a second time on a
/// connection is prepared on the server (see `PostgresConfiguration.statementCacheCapacity`), so repeated statements
/// skip parsing and planning. With 8 concurrent tasks this matches `pgbench -S -c 8` on this 2-core machine.
///
/// A connection runs one statement at a time; concurrent callers are queued in order. Use `PostgresPool` to share
/// connections between tasks.
public final class PostgresConnection: Sendable {
    let worker: ConnectionWorker
    let logger: Logger
    /// The server process serving this connection (`pg_backend_pid()`).
    public let backendPID: Int32

    private init(worker: ConnectionWorker, logger: Logger, backendPID: Int32) {
        self.worker = worker
        self.logger = logger
        self.backendPID = backendPID
    }

    deinit {
        worker.closeInBackground()
    }

    /// Connects, failing with `.connectionFailed` (libpq's explanation in `debugDescription`).
    /// Sets `application_name` to "herald" unless the conninfo or `PGAPPNAME` sets one.
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger) async throws -> PostgresConnection {
        let worker = try ConnectionWorker()
        let backendPID = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Int32, any Error>) in
                worker.start(configuration: configuration, logger: logger) { result in
                    if case .failure(let error) = result, error.code == .cancelled {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        continuation.resume(with: result.mapError { $0 })
                    }
                }
            }
        } onCancel: {
            worker.cancelConnect()
        }
        return PostgresConnection(worker: worker, logger: logger, backendPID: backendPID)
    }

    /// Runs one statement with bound parameters.
    ///
    /// With `timeout`, the statement is cancelled on the server when it passes and the call fails with `.timeout`
    /// (SQLSTATE 57014); the connection remains usable. Cancelling the calling task cancels the statement the same
    /// way and throws `CancellationError`.
    @discardableResult
    public func query(_ query: PostgresQuery, timeout: Duration? = nil, logger: Logger? = nil) async throws -> PostgresRows {
        let logger = logger ?? self.logger
        logger.trace("postgres query", metadata: ["db.statement": "\(query.sql)", "db.bindings": "\(query.bindings.count)"])
        do {
            return try await worker.runQuery(query, timeout: timeout)
        } catch let error as PostgresError {
            logger.debug("postgres query failed", metadata: ["db.statement": "\(query.sql)", "error": "\(error)"])
            throw error
        }
    }

    /// Runs several statements separated by `;`, without parameters (simple query protocol, as `PQexec`), e.g. a
    /// migration file. Never build `unsafeSQL` from input.
    public func executeScript(unsafeSQL: String) async throws {
        logger.trace("postgres script", metadata: ["db.statement.bytes": "\(unsafeSQL.utf8.count)"])
        try await worker.perform { context in try context.executeScript(unsafeSQL) }
    }

    /// Runs `COPY … FROM STDIN` and streams what `body` writes; returns the number of rows copied.
    ///
    /// The writer buffers and sends ~512 KiB chunks, one in flight while `body` produces the next. Malformed data
    /// fails with the server's SQLSTATE (`22P02`, `22P04`, …) and nothing is inserted; when `body` throws, the COPY
    /// is aborted and the error rethrown. Either way the connection remains usable.
    nonisolated(nonsending)
    public func copyFrom(_ copyStatement: PostgresQuery, _ body: (PostgresCopyWriter) async throws -> Void) async throws -> Int {
        try await worker.perform(cancellable: false) { context in try context.startCopy(copyStatement) }
        let writer = PostgresCopyWriter(worker: worker)
        do {
            try await body(writer)
            try await writer.finish()
        } catch {
            await writer.abandon()
            _ = try? await worker.perform(cancellable: false) { context in
                try context.endCopy(abortMessage: "COPY aborted by the client")
            }
            throw error
        }
        return try await worker.perform(cancellable: false) { context in try context.endCopy(abortMessage: nil) }
    }

    /// `LISTEN` on `channel`; the stream yields its notifications until `unlisten(channel)` or `close()` finishes it
    /// (or throws `.connectionLost`). The channel name is quoted as an identifier, so it is matched exactly (case
    /// included) against `notify(_:payload:)`/`pg_notify`.
    public func listen(_ channel: String) async throws -> AsyncThrowingStream<PostgresNotification, any Error> {
        let quoted = try Self.quotedChannel(channel)
        let (stream, continuation) = AsyncThrowingStream.makeStream(
            of: PostgresNotification.self, throwing: (any Error).self, bufferingPolicy: .unbounded
        )
        let id = worker.reserveSequence()
        do {
            try await worker.perform { context in
                _ = try context.execute(PostgresQuery(unsafeSQL: "LISTEN \(quoted)"), timeout: nil)
                context.addListener(channel: channel, id: id, continuation: continuation)
            }
        } catch let error as PostgresError {
            throw error.withCode(.listenFailed, safeReason: "LISTEN failed")
        }
        continuation.onTermination = { [worker] _ in
            worker.submit(sequence: worker.reserveSequence()) { input in
                if case .run(let context) = input { context.removeListener(channel: channel, id: id) }
            }
        }
        return stream
    }

    /// `UNLISTEN channel`, finishing its streams.
    public func unlisten(_ channel: String) async throws {
        let quoted = try Self.quotedChannel(channel)
        try await worker.perform { context in
            context.finishListeners(channel: channel)
            _ = try context.execute(PostgresQuery(unsafeSQL: "UNLISTEN \(quoted)"), timeout: nil)
        }
    }

    /// Sends a notification (`SELECT pg_notify($1, $2)`), delivered when the surrounding transaction commits.
    public func notify(_ channel: String, payload: String) async throws {
        try await query("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Whether the connection was closed or found broken (the server went away).
    public var isClosed: Bool { worker.isClosedOrBroken }

    /// Whether the connection is inside a transaction block (or an aborted one), as of its last statement.
    public var isInTransaction: Bool {
        let status = worker.transactionStatus
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// Closes the connection and stops its thread. Pending operations fail with `.connectionClosed`.
    public func close() async {
        _ = try? await worker.perform(cancellable: false) { context in context.close() }
    }

    /// `BEGIN`; `body`; `COMMIT`; or `ROLLBACK` when `body` throws (the error is rethrown).
    /// If `body` swallowed an error that aborted the transaction, COMMIT would silently roll back: this throws
    /// `.transactionRolledBack` instead.
    nonisolated(nonsending)
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await query(PostgresQuery(unsafeSQL: isolation.beginStatement))
        let value: T
        do {
            value = try await body(self)
        } catch {
            _ = try? await worker.perform(cancellable: false) { context in
                try context.execute(PostgresQuery(unsafeSQL: "ROLLBACK"), timeout: nil)
            }
            throw error
        }
        let commit = try await worker.perform(cancellable: false) { context in
            try context.execute(PostgresQuery(unsafeSQL: "COMMIT"), timeout: nil)
        }
        if commit.commandTag == "ROLLBACK" {
            throw PostgresError(code: .transactionRolledBack,
                                safeReason: "the transaction had failed, so COMMIT rolled it back")
        }
        return value
    }

    static func quotedChannel(_ channel: String) throws(PostgresError) -> String {
        guard !channel.isEmpty, channel.utf8.count <= 63, !channel.utf8.contains(0) else {
            throw PostgresError(code: .listenFailed, safeReason: "a channel name must be 1 to 63 bytes without NUL")
        }
        return "\"" + channel.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
