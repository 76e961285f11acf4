import CLibPQ
import Foundation
import Logging

/// The libpq side of one connection. Lives on, and is only touched by, its `ConnectionWorker`'s thread.
final class ConnectionContext {
    private let handle: PGConnectionHandle
    private let cancelHandle: PGCancelHandle?
    private let worker: ConnectionWorker
    private let logger: Logger
    let backendPID: Int32
    /// The job being run (to match task cancellations against).
    var currentSequence: UInt64 = 0
    private(set) var isFinished = false
    private var listeners: [String: [UInt64: AsyncThrowingStream<PostgresNotification, any Error>.Continuation]] = [:]
    /// Set when the connection was dropped on purpose (a cancel the server ignored); libpq's status can't say so.
    private var abandoned = false

    /// How long to wait for the server after a cancel request before giving up on the connection.
    private static let cancelGracePeriod: Duration = .seconds(5)

    private init(handle: PGConnectionHandle, worker: ConnectionWorker, logger: Logger) {
        self.handle = handle
        self.worker = worker
        self.logger = logger
        let connection = handle.pointer!
        self.cancelHandle = PGCancelHandle(connection: connection)
        self.backendPID = PQbackendPID(connection)
    }

    // MARK: - Connecting

    static func connect(
        configuration: PostgresConfiguration,
        worker: ConnectionWorker,
        logger: Logger
    ) throws(PostgresError) -> ConnectionContext {
        var parameters: [(String, String)] = []
        if !configuration.conninfo.isEmpty {
            // With expand_dbname, the first "dbname" is parsed as a whole conninfo/URI; later keywords override it.
            parameters.append(("dbname", configuration.conninfo))
        }
        parameters.append(("fallback_application_name", "herald"))
        parameters.append(("client_encoding", "UTF8"))
        let deadline = ContinuousClock.now + configuration.connectTimeout

        let started: OpaquePointer? = withCStringArrays(parameters) { keywords, values in
            PQconnectStartParams(keywords, values, 1)
        }
        guard let started else {
            throw PostgresError(code: .connectionFailed, safeReason: "libpq could not allocate a connection")
        }
        let handle = PGConnectionHandle(started)
        func failure(_ reason: String) -> PostgresError {
            PostgresError(code: .connectionFailed, underlyingMessage: errorMessage(started), safeReason: reason)
        }
        guard PQstatus(started) != CONNECTION_BAD else {
            throw failure("libpq rejected the connection parameters")
        }
        var pollStatus = PGRES_POLLING_WRITING
        while true {
            switch pollStatus {
            case PGRES_POLLING_OK:
                break
            case PGRES_POLLING_FAILED:
                throw failure(PQconnectionNeedsPassword(started) == 1
                    ? "the server requires a password and none was given"
                    : "the server could not be reached or refused the connection (see debugDescription)")
            default:
                let events = pollStatus == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
                let outcome = pollSocket(PQsocket(started), events: events, wakeup: worker.wakeup, deadline: deadline)
                if outcome.woken {
                    worker.wakeup.drain()
                    if worker.isConnectCancelled {
                        throw PostgresError(code: .cancelled, safeReason: "the connecting task was cancelled")
                    }
                }
                if outcome.timedOut {
                    throw PostgresError(code: .connectionFailed, safeReason: "connecting timed out after \(configuration.connectTimeout)")
                }
                if !outcome.ready { continue }
                pollStatus = PQconnectPoll(started)
                continue
            }
            break
        }

        PQsetNoticeReceiver(started, { _, _ in }, nil)  // notices may hold data; never print them to stderr
        let context = ConnectionContext(handle: handle, worker: worker, logger: logger)
        // Timestamps are parsed from ISO output whatever the server's default DateStyle is.
        do {
            try context.executeScript("SET DateStyle TO 'ISO, MDY'")
        } catch {
            throw PostgresError(code: .connectionFailed, underlyingMessage: error.debugDescription,
                                safeReason: "the session could not be set up")
        }
        logger.debug("postgres connected", metadata: ["db.backend_pid": "\(context.backendPID)"])
        return context
    }

    // MARK: - Status

    private var connection: OpaquePointer? {
        guard let pointer = handle.pointer, !abandoned, PQstatus(pointer) == CONNECTION_OK else { return nil }
        return pointer
    }

    func publishStatus() {
        let pointer = handle.pointer
        let broken = pointer == nil || abandoned || PQstatus(pointer) != CONNECTION_OK
        let transaction = broken ? PQTRANS_UNKNOWN : PQtransactionStatus(pointer)
        worker.state.withLock { state in
            state.broken = broken
            state.transactionStatus = transaction
        }
    }

    private func usableConnection() throws(PostgresError) -> OpaquePointer {
        if isFinished || handle.pointer == nil {
            throw PostgresError(code: .connectionClosed, safeReason: "the connection is closed", statementWasSent: false)
        }
        guard let connection else {
            throw PostgresError(code: .connectionLost, underlyingMessage: handle.pointer.map(errorMessage),
                                safeReason: "the connection to the server was lost earlier", statementWasSent: false)
        }
        return connection
    }

    // MARK: - Statements

    enum CancelReason { case timeout, task }

    /// Runs one parameterised statement (extended protocol, text format, explicit type OIDs).
    func execute(_ query: PostgresQuery, timeout: Duration?) throws(PostgresError) -> PostgresRows {
        try send(query)
        return try collect(sql: query.sql, deadline: timeout.map { ContinuousClock.now + $0 })
    }

    /// Sends one parameterised statement (extended protocol, text format, explicit type OIDs) without waiting.
    /// Also called by a borrowing caller (see `ConnectionWorker.runQuery`).
    func send(_ query: PostgresQuery) throws(PostgresError) {
        if let failure = query.bindings.storage.failure {
            throw PostgresError(code: .encodingFailed, query: query.sql, safeReason: failure, statementWasSent: false)
        }
        let connection = try usableConnection()
        let sent = query.bindings.withCArrays { types, values in
            PQsendQueryParams(connection, query.sql, Int32(query.bindings.count), types, values, nil, nil, 0)
        }
        guard sent == 1 else { throw connectionError(sent: false).withQuery(query.sql) }
    }

    /// Reads the result of the statement `send` sent.
    func collect(sql: String, deadline: ContinuousClock.Instant?) throws(PostgresError) -> PostgresRows {
        do {
            let results = try collectResults(deadline: deadline)
            return PostgresRows(result: results.first)
        } catch {
            throw error.withQuery(sql)
        }
    }

    /// Runs several `;`-separated statements without parameters (simple protocol).
    func executeScript(_ sql: String) throws(PostgresError) {
        let connection = try usableConnection()
        guard PQsendQuery(connection, sql) == 1 else { throw connectionError(sent: false) }
        _ = try collectResults(deadline: nil)
    }

    /// Waits for and reads every result of the statement(s) sent, then throws the first error if any.
    private func collectResults(deadline: ContinuousClock.Instant?) throws(PostgresError) -> [PostgresResult] {
        var results: [PostgresResult] = []
        var firstError: PostgresError?
        var cancelReason: CancelReason?
        while true {
            try waitUntilNotBusy(deadline: deadline, cancelReason: &cancelReason)
            guard let pointer = handle.pointer, let raw = PQgetResult(pointer) else { break }
            let status = PQresultStatus(raw)
            switch status {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                results.append(PostgresResult(raw))
            case PGRES_COPY_IN:
                PQclear(raw)
                PQputCopyEnd(pointer, "COPY FROM STDIN is only supported through copyFrom")
                firstError = firstError ?? PostgresError(code: .copyFailed, safeReason: "COPY FROM STDIN needs copyFrom")
            case PGRES_COPY_OUT:
                PQclear(raw)
                var buffer: UnsafeMutablePointer<CChar>?
                while PQgetCopyData(pointer, &buffer, 0) > 0 {
                    PQfreemem(buffer)
                    buffer = nil
                }
                firstError = firstError ?? PostgresError(code: .copyFailed, safeReason: "COPY TO STDOUT is not supported")
            default:
                let error = serverError(raw, cancelReason: cancelReason)
                PQclear(raw)
                firstError = firstError ?? error
            }
        }
        dispatchNotifications()
        if handle.pointer == nil || abandoned || PQstatus(handle.pointer) != CONNECTION_OK {
            connectionWasLost()
            let lost = firstError ?? connectionError(sent: true)
            if lost.code == .timeout { throw lost }
            throw lost.withCode(.connectionLost, safeReason: "the connection to the server was lost")
        }
        if let firstError {
            if firstError.sqlState == .queryCanceled, cancelReason == .task {
                throw firstError.withCode(.cancelled, safeReason: "cancelled because the calling task was cancelled")
            }
            throw firstError
        }
        return results
    }

    /// Polls until libpq has a complete result. On the deadline, or when the calling task is cancelled, sends a cancel
    /// request and keeps waiting for the server's answer (57014); if the server stays silent, drops the connection.
    private func waitUntilNotBusy(
        deadline initialDeadline: ContinuousClock.Instant?,
        cancelReason: inout CancelReason?
    ) throws(PostgresError) {
        var deadline = cancelReason == nil ? initialDeadline : ContinuousClock.now + Self.cancelGracePeriod
        if cancelReason == nil, worker.isCancelled(sequence: currentSequence) {
            // The task was cancelled after the statement was sent but before this job started.
            cancelReason = .task
            sendCancel()
            deadline = ContinuousClock.now + Self.cancelGracePeriod
        }
        while let pointer = handle.pointer, !abandoned, PQisBusy(pointer) == 1 {
            let socket = PQsocket(pointer)
            guard socket >= 0 else { return }
            let outcome = pollSocket(socket, events: Int16(POLLIN), wakeup: worker.wakeup, deadline: deadline)
            if outcome.woken {
                worker.wakeup.drain()
                if cancelReason == nil, worker.isCancelled(sequence: currentSequence) {
                    cancelReason = .task
                    sendCancel()
                    deadline = ContinuousClock.now + Self.cancelGracePeriod
                }
            }
            if outcome.timedOut {
                if cancelReason == nil {
                    cancelReason = .timeout
                    sendCancel()
                    deadline = ContinuousClock.now + Self.cancelGracePeriod
                    continue
                }
                logger.warning("postgres server did not answer a cancel request; dropping the connection",
                               metadata: ["db.backend_pid": "\(backendPID)"])
                abandoned = true
                handle.finish()
                connectionWasLost()
                throw PostgresError(code: cancelReason == .timeout ? .timeout : .connectionLost,
                                    safeReason: "the server did not answer a cancel request; the connection was dropped")
            }
            if outcome.ready, PQconsumeInput(pointer) == 0 {
                return  // connection trouble: PQgetResult reports it
            }
        }
    }

    private func sendCancel() {
        if let message = cancelHandle?.cancel() {
            logger.debug("postgres cancel request failed", metadata: ["db.error": "\(message)"])
        }
    }

    // MARK: - COPY FROM STDIN

    func startCopy(_ query: PostgresQuery) throws(PostgresError) {
        if let failure = query.bindings.storage.failure {
            throw PostgresError(code: .encodingFailed, query: query.sql, safeReason: failure, statementWasSent: false)
        }
        let connection = try usableConnection()
        let sent = query.bindings.withCArrays { types, values in
            PQsendQueryParams(connection, query.sql, Int32(query.bindings.count), types, values, nil, nil, 0)
        }
        guard sent == 1 else { throw connectionError(sent: false).withQuery(query.sql) }
        var cancelReason: CancelReason?
        try waitUntilNotBusy(deadline: nil, cancelReason: &cancelReason)
        guard let pointer = handle.pointer, let raw = PQgetResult(pointer) else {
            throw connectionError(sent: true).withQuery(query.sql)
        }
        let status = PQresultStatus(raw)
        if status == PGRES_COPY_IN {
            PQclear(raw)
            return
        }
        let failure = status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR
            ? serverError(raw, cancelReason: nil)
            : PostgresError(code: .copyFailed, safeReason: "the statement is not COPY … FROM STDIN")
        PQclear(raw)
        // Read what is left (a connection failure there takes precedence) and report it.
        do {
            _ = try collectResults(deadline: nil)
        } catch {
            throw error.withQuery(query.sql)
        }
        throw failure.withQuery(query.sql)
    }

    func putCopyData(_ chunk: [UInt8]) throws(PostgresError) {
        guard !chunk.isEmpty else { return }
        guard let pointer = handle.pointer else { throw connectionError(sent: true) }
        let status = chunk.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { PQputCopyData(pointer, $0.baseAddress, Int32($0.count)) }
        }
        guard status == 1 else {
            if PQstatus(pointer) != CONNECTION_OK {
                connectionWasLost()
                throw connectionError(sent: true)
            }
            throw PostgresError(code: .copyFailed, underlyingMessage: errorMessage(pointer), safeReason: "libpq could not send COPY data")
        }
    }

    /// Ends the COPY (or aborts it with `abortMessage`) and returns the number of rows copied.
    func endCopy(abortMessage: String?) throws(PostgresError) -> Int {
        guard let pointer = handle.pointer else { throw connectionError(sent: true) }
        guard PQputCopyEnd(pointer, abortMessage) == 1 else {
            connectionWasLost()
            throw connectionError(sent: true)
        }
        let results = try collectResults(deadline: nil)
        return results.last?.affectedRows ?? 0
    }

    // MARK: - LISTEN / NOTIFY

    func addListener(
        channel: String,
        id: UInt64,
        continuation: AsyncThrowingStream<PostgresNotification, any Error>.Continuation
    ) {
        listeners[channel, default: [:]][id] = continuation
    }

    func removeListener(channel: String, id: UInt64) {
        listeners[channel]?[id] = nil
        if listeners[channel]?.isEmpty == true { listeners[channel] = nil }
    }

    func finishListeners(channel: String) {
        guard let removed = listeners.removeValue(forKey: channel) else { return }
        for continuation in removed.values { continuation.finish() }
    }

    private func dispatchNotifications() {
        guard let pointer = handle.pointer else { return }
        while let notify = PQnotifies(pointer) {
            let channel = String(cString: notify.pointee.relname)
            let notification = PostgresNotification(
                channel: channel,
                payload: String(cString: notify.pointee.extra),
                backendPID: notify.pointee.be_pid
            )
            PQfreemem(notify)
            guard let subscribers = listeners[channel] else { continue }
            for continuation in subscribers.values { continuation.yield(notification) }
        }
    }

    // MARK: - Idle

    /// The socket to watch while idle, or -1 when the connection is closed or broken.
    func idleSocket() -> Int32 {
        connection.map(PQsocket) ?? -1
    }

    /// Reads what arrived while idle: NOTIFY messages, or the server hanging up.
    func consumeIdleInput() {
        guard let pointer = connection else { return }
        if PQconsumeInput(pointer) == 0 || PQstatus(pointer) != CONNECTION_OK {
            logger.debug("postgres connection lost while idle", metadata: ["db.backend_pid": "\(backendPID)"])
            connectionWasLost()
            publishStatus()
            return
        }
        dispatchNotifications()
    }

    // MARK: - Closing

    func close() {
        for channel in Array(listeners.keys) { finishListeners(channel: channel) }
        handle.finish()
        isFinished = true
        logger.debug("postgres connection closed", metadata: ["db.backend_pid": "\(backendPID)"])
    }

    private func connectionWasLost() {
        let error = PostgresError(code: .connectionLost, safeReason: "the connection to the server was lost")
        for continuations in listeners.values {
            for continuation in continuations.values { continuation.finish(throwing: error) }
        }
        listeners = [:]
    }

    // MARK: - Errors

    private func connectionError(sent: Bool) -> PostgresError {
        let pointer = handle.pointer
        let lost = pointer == nil || abandoned || PQstatus(pointer) != CONNECTION_OK
        return PostgresError(
            code: lost ? .connectionLost : .protocolViolation,
            underlyingMessage: pointer.map(errorMessage),
            safeReason: lost ? "the connection to the server was lost" : "libpq refused the request",
            statementWasSent: sent
        )
    }

    private func serverError(_ result: OpaquePointer, cancelReason: CancelReason?) -> PostgresError {
        func field(_ code: UInt8) -> String? {
            PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
        }
        let sqlState = field(UInt8(ascii: "C")).map(SQLState.init(rawValue:))
        let code: PostgresError.Code
        switch sqlState {
        case .some(.queryCanceled) where cancelReason == .timeout: code = .timeout
        case .some(.adminShutdown), .some(.crashShutdown), .some(.cannotConnectNow): code = .connectionLost
        case nil: code = .connectionLost  // libpq's own error (e.g. the server closed the connection)
        default: code = .server
        }
        return PostgresError(
            code: code,
            sqlState: sqlState,
            serverMessage: field(UInt8(ascii: "M")),
            detail: field(UInt8(ascii: "D")),
            hint: field(UInt8(ascii: "H")),
            schema: field(UInt8(ascii: "s")),
            table: field(UInt8(ascii: "t")),
            column: field(UInt8(ascii: "c")),
            constraint: field(UInt8(ascii: "n")),
            underlyingMessage: PQresultErrorMessage(result).map { String(cString: $0) },
            safeReason: code == .timeout ? "the statement timed out and was cancelled" : nil
        )
    }
}

private func errorMessage(_ connection: OpaquePointer) -> String {
    guard let message = PQerrorMessage(connection) else { return "" }
    return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Calls `body` with NULL-terminated C arrays of keywords and values.
private func withCStringArrays<R>(
    _ pairs: [(String, String)],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R
) -> R {
    var storage: [UnsafeMutablePointer<CChar>] = []
    defer { storage.forEach { free($0) } }
    var keywords: [UnsafePointer<CChar>?] = []
    var values: [UnsafePointer<CChar>?] = []
    for (keyword, value) in pairs {
        let k = strdup(keyword)!
        let v = strdup(value)!
        storage.append(k)
        storage.append(v)
        keywords.append(UnsafePointer(k))
        values.append(UnsafePointer(v))
    }
    keywords.append(nil)
    values.append(nil)
    return keywords.withUnsafeBufferPointer { k in
        values.withUnsafeBufferPointer { v in body(k.baseAddress!, v.baseAddress!) }
    }
}
