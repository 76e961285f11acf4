import CLibPQ
import Foundation
import Logging

/// The libpq side of one connection. Used by its `ConnectionWorker`'s thread, or by the one caller that has
/// borrowed the connection to send a statement (`send`, `publishStatus`); never by two threads at once.
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

    /// Statements prepared on this connection, by SQL text.
    private var preparedStatements: [String: PreparedStatement] = [:]
    /// How often statements not (yet) prepared were run; -1 marks one that failed to prepare.
    private var sightings: [String: Int] = [:]
    private let statementCacheCapacity: Int
    private var nextStatementNumber = 0

    private struct PreparedStatement {
        let name: String
        let types: [UInt32]
    }

    /// How `send` sent a statement, which decides how `collect` reads it.
    enum SendMode: Sendable {
        case unnamed
        case prepared
        /// A Parse of statement `name` was sent; the execution follows once it is confirmed.
        case preparing(name: String)
    }

    private init(handle: PGConnectionHandle, worker: ConnectionWorker, logger: Logger, statementCacheCapacity: Int) {
        self.handle = handle
        self.worker = worker
        self.logger = logger
        self.statementCacheCapacity = statementCacheCapacity
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
        if !configuration.serverSettings.isEmpty {
            // A later keyword replaces an earlier one, so keep the conninfo's own options first.
            let existing = (try? PostgresConninfo.parse(configuration.conninfo))?.last { $0.0 == "options" }?.1
            let settings = configuration.serverSettings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }
            parameters.append(("options", ([existing].compactMap { $0 } + settings).joined(separator: " ")))
        }
        let deadline = ContinuousClock.now + configuration.connectTimeout

        let started: OpaquePointer? = withCStringArrays(parameters) { keywords, values in
            PQconnectStartParams(keywords, values, 1)
        }
        guard let started else {
            throw PostgresError(code: .connectionFailed, safeReason: "libpq could not allocate a connection")
        }
        let handle = PGConnectionHandle(started)
        PQsetNoticeReceiver(started, { _, _ in }, nil)  // notices may hold data; never print them to stderr
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

        let context = ConnectionContext(
            handle: handle, worker: worker, logger: logger,
            statementCacheCapacity: max(0, configuration.statementCacheCapacity)
        )
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
        let mode = try send(query)
        return try collect(query, mode: mode, deadline: timeout.map { ContinuousClock.now + $0 })
    }

    /// Sends one statement without waiting: as a prepared statement when this connection has prepared it, as a
    /// Parse of a new prepared statement the second time it is seen, else unnamed. Also called by a borrowing
    /// caller (see `ConnectionWorker.runQuery`), so it never waits for the server.
    func send(_ query: PostgresQuery) throws(PostgresError) -> SendMode {
        if let failure = query.bindings.storage.failure {
            throw PostgresError(code: .encodingFailed, query: query.sql, safeReason: failure, statementWasSent: false)
        }
        let connection = try usableConnection()
        var mode = SendMode.unnamed
        if statementCacheCapacity > 0 {
            if let statement = preparedStatements[query.sql], query.bindings.hasTypes(statement.types) {
                mode = .prepared
                let sent = query.bindings.withCArrays { _, values in
                    PQsendQueryPrepared(connection, statement.name, Int32(query.bindings.count), values, nil, nil, 0)
                }
                guard sent == 1 else { throw connectionError(sent: false).withQuery(query.sql) }
                return mode
            }
            if preparedStatements.count < statementCacheCapacity, preparedStatements[query.sql] == nil,
               Self.isPreparable(query.sql) {
                let seen = sightings[query.sql, default: 0]
                if seen >= 1 {
                    if sightings.count > 4 * statementCacheCapacity { sightings.removeAll(keepingCapacity: true) }
                    nextStatementNumber += 1
                    let name = "herald_\(nextStatementNumber)"
                    let sent = query.bindings.withCArrays { types, _ in
                        PQsendPrepare(connection, name, query.sql, Int32(query.bindings.count), types)
                    }
                    guard sent == 1 else { throw connectionError(sent: false).withQuery(query.sql) }
                    return .preparing(name: name)
                } else if seen == 0 {
                    if sightings.count > 4 * statementCacheCapacity { sightings.removeAll(keepingCapacity: true) }
                    sightings[query.sql] = 1
                }
            }
        }
        let sent = query.bindings.withCArrays { types, values in
            PQsendQueryParams(connection, query.sql, Int32(query.bindings.count), types, values, nil, nil, 0)
        }
        guard sent == 1 else { throw connectionError(sent: false).withQuery(query.sql) }
        return mode
    }

    /// Reads the result of the statement `send` sent (preparing it first, or falling back to an unnamed statement when
    /// the server dropped or invalidated the prepared one).
    func collect(_ query: PostgresQuery, mode: SendMode, deadline: ContinuousClock.Instant?) throws(PostgresError) -> PostgresRows {
        do {
            return try collectSent(query, mode: mode, deadline: deadline)
        } catch {
            throw error.withQuery(query.sql)
        }
    }

    private func collectSent(
        _ query: PostgresQuery, mode: SendMode, deadline: ContinuousClock.Instant?
    ) throws(PostgresError) -> PostgresRows {
        switch mode {
        case .unnamed:
            return PostgresRows(result: try collectResults(deadline: deadline).first)
        case .preparing(let name):
            do {
                _ = try collectResults(deadline: deadline)
            } catch {
                sightings[query.sql] = nil  // it did not prepare (say, the table is not there yet): count afresh
                throw error
            }
            sightings[query.sql] = nil
            preparedStatements[query.sql] = PreparedStatement(name: name, types: query.bindings.parameterTypes)
            let connection = try usableConnection()
            let sent = query.bindings.withCArrays { _, values in
                PQsendQueryPrepared(connection, name, Int32(query.bindings.count), values, nil, nil, 0)
            }
            guard sent == 1 else { throw connectionError(sent: true) }
            return PostgresRows(result: try collectResults(deadline: deadline).first)
        case .prepared:
            do {
                return PostgresRows(result: try collectResults(deadline: deadline).first)
            } catch {
                // 0A000 "cached plan must not change result type" (a table changed under a SELECT *), or 26000
                // (someone ran DEALLOCATE / DISCARD ALL): forget the statement, and outside a transaction block run
                // it again unnamed (inside one, the error has already aborted the transaction).
                guard error.sqlState == SQLState("0A000") || error.sqlState == SQLState("26000") else { throw error }
                if error.sqlState == SQLState("26000") { preparedStatements.removeAll() } else { preparedStatements[query.sql] = nil }
                sightings[query.sql] = -1
                guard let pointer = handle.pointer, PQtransactionStatus(pointer) == PQTRANS_IDLE else { throw error }
                let connection = try usableConnection()
                let sent = query.bindings.withCArrays { types, values in
                    PQsendQueryParams(connection, query.sql, Int32(query.bindings.count), types, values, nil, nil, 0)
                }
                guard sent == 1 else { throw connectionError(sent: true) }
                return PostgresRows(result: try collectResults(deadline: deadline).first)
            }
        }
    }

    /// Only plain DML and queries are worth preparing (not BEGIN, SET, LISTEN, DDL…).
    private static func isPreparable(_ sql: String) -> Bool {
        var utf8 = sql.utf8.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D || $0 == UInt8(ascii: "(") }
        var word: [UInt8] = []
        while let byte = utf8.first, word.count < 7, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) {
            word.append(byte | 0x20)
            utf8 = utf8.dropFirst()
        }
        switch String(decoding: word, as: UTF8.self) {
        case "select", "insert", "update", "delete", "with", "values": return true
        default: return false
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
