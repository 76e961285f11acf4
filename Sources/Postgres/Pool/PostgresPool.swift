import Logging

/// A snapshot of a pool's state, for metrics and health endpoints.
public struct PostgresPoolStatistics: Sendable, Equatable {
    /// Connections open or being opened.
    public var open: Int
    /// Connections leased to callers (including ones being opened for a caller).
    public var inUse: Int
    /// Connections open and waiting to be leased.
    public var idle: Int
    /// Callers waiting for a connection.
    public var waiting: Int
    public var maxConnections: Int
    /// Acquires that failed with `.poolExhausted` since the pool was created.
    public var acquireTimeouts: Int
    /// Connections opened since the pool was created.
    public var connectionsOpened: Int
}

/// A bounded pool of `PostgresConnection`s.
///
/// Callers wait in FIFO order when all `maxConnections` are leased, for at most `acquireTimeout` (then
/// `.poolExhausted`); cancelling a waiting task removes it from the queue. A connection that comes back broken or
/// inside a transaction is closed rather than reused, and one that sat idle for `idleHealthCheckAfter` is checked
/// with `SELECT 1` before it is handed out, so after a server restart the next query runs on a fresh connection.
public final class PostgresPool: Sendable {
    private enum Lease {
        case connection(PostgresConnection, idleSince: ContinuousClock.Instant?)
        /// Permission to open a new connection (a slot below `maxConnections` was reserved).
        case openSlot
    }

    private struct Waiter {
        let id: UInt64
        let continuation: UnsafeContinuation<Lease, any Error>
        let timeoutTask: Task<Void, Never>
    }

    private struct IdleConnection {
        let connection: PostgresConnection
        let since: ContinuousClock.Instant
    }

    private struct State {
        var idle: [IdleConnection] = []
        /// Leased connections plus slots reserved for connections being opened.
        var inUse = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
        var acquireTimeouts = 0
        var connectionsOpened = 0
        var open: Int { idle.count + inUse }
    }

    private let configuration: PostgresConfiguration
    private let maxConnections: Int
    private let acquireTimeout: Duration
    private let idleHealthCheckAfter: Duration
    private let logger: Logger
    private let state = LockedState(State())

    public init(
        configuration: PostgresConfiguration,
        maxConnections: Int = 10,
        acquireTimeout: Duration = .seconds(5),
        idleHealthCheckAfter: Duration = .seconds(30),
        logger: Logger
    ) {
        precondition(maxConnections > 0, "a pool needs at least one connection")
        self.configuration = configuration
        self.maxConnections = maxConnections
        self.acquireTimeout = acquireTimeout
        self.idleHealthCheckAfter = idleHealthCheckAfter
        self.logger = logger
    }

    // MARK: - Using connections

    /// Runs one statement on a pooled connection. A statement that never reached the server because its
    /// connection turned out to be dead is retried once on another connection.
    @discardableResult
    public func query(_ query: PostgresQuery, timeout: Duration? = nil, logger: Logger? = nil) async throws -> PostgresRows {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await acquire()
            do {
                let rows = try await connection.query(query, timeout: timeout, logger: logger)
                release(connection)
                return rows
            } catch let error as PostgresError where error.code == .connectionLost && !error.statementWasSent && attempt == 1 {
                release(connection)
                continue
            } catch {
                release(connection)
                throw error
            }
        }
    }

    /// Leases a connection for `body` and takes it back afterwards (closing it if `body` left it broken or inside
    /// a transaction).
    nonisolated(nonsending)
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        defer { release(connection) }
        return try await body(connection)
    }

    /// `BEGIN [ISOLATION LEVEL …]`; `body`; `COMMIT`. `ROLLBACK` when `body` throws, and the error is rethrown, so
    /// callers can retry on `error.sqlState?.isRetryableTransactionFailure`. A connection left broken is discarded.
    nonisolated(nonsending)
    public func withTransaction<T: Sendable>(
        isolation: PostgresIsolationLevel = .readCommitted,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await acquire()
        defer { release(connection) }
        return try await connection.withTransaction(isolation: isolation, body)
    }

    public var statistics: PostgresPoolStatistics {
        state.withLock { state in
            PostgresPoolStatistics(
                open: state.open, inUse: state.inUse, idle: state.idle.count, waiting: state.waiters.count,
                maxConnections: maxConnections, acquireTimeouts: state.acquireTimeouts,
                connectionsOpened: state.connectionsOpened
            )
        }
    }

    /// Health: `true` if a connection can run `SELECT 1` within `timeout`.
    public func ping(timeout: Duration = .seconds(2)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                do {
                    try await self.query("SELECT 1", timeout: timeout)
                    return true
                } catch {
                    return false
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Closes idle connections and fails waiters; later acquires fail with `.poolClosed`. Leased connections are
    /// closed when they come back.
    public func close() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters {
            waiter.timeoutTask.cancel()
            waiter.continuation.resume(throwing: Self.poolClosedError)
        }
        for entry in idle { await entry.connection.close() }
    }

    // MARK: - Leasing

    private static let poolClosedError = PostgresError(code: .poolClosed, safeReason: "the pool is closed", statementWasSent: false)

    /// Leases a connection: an idle one (checked first if it sat idle long), a new one, or the next one released.
    func acquire() async throws -> PostgresConnection {
        while true {
            switch try await lease() {
            case .openSlot:
                do {
                    let connection = try await PostgresConnection.connect(configuration, logger: logger)
                    state.withLock { $0.connectionsOpened += 1 }
                    return connection
                } catch {
                    giveBackSlot()
                    throw error
                }
            case .connection(let connection, let idleSince):
                if connection.isClosed {
                    discard(connection)
                    continue
                }
                if let idleSince, idleSince.duration(to: .now) >= idleHealthCheckAfter {
                    do {
                        try await connection.query("SELECT 1", timeout: .seconds(2))
                    } catch is CancellationError {
                        release(connection)
                        throw CancellationError()
                    } catch {
                        logger.debug("postgres pool: idle connection failed its health check")
                        discard(connection)
                        continue
                    }
                }
                return connection
            }
        }
    }

    /// Takes a connection back.
    func release(_ connection: PostgresConnection) {
        enum Action { case handOver(Waiter), keep, discard }
        let reusable = !connection.isClosed && !connection.isInTransaction
        let action: Action = state.withLock { state in
            guard reusable, !state.closed else { return .discard }
            if !state.waiters.isEmpty {
                return .handOver(state.waiters.removeFirst())  // stays in use: handed over directly (FIFO, no barging)
            }
            state.inUse -= 1
            state.idle.append(IdleConnection(connection: connection, since: .now))
            return .keep
        }
        switch action {
        case .keep:
            break
        case .discard:
            discard(connection)
        case .handOver(let waiter):
            waiter.timeoutTask.cancel()
            waiter.continuation.resume(returning: .connection(connection, idleSince: nil))
        }
    }

    private func lease() async throws -> Lease {
        enum FastPath { case lease(Lease), wait(UInt64) }
        let fast: FastPath = try state.withLock { state in
            if state.closed { throw Self.poolClosedError }
            if let lease = Self.takeAvailable(&state, max: maxConnections) { return .lease(lease) }
            defer { state.nextWaiterID += 1 }
            return .wait(state.nextWaiterID)
        }
        let id: UInt64
        switch fast {
        case .lease(let lease): return lease
        case .wait(let waiterID): id = waiterID
        }

        let timeout = acquireTimeout
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<Lease, any Error>) in
                let timeoutTask = Task { [weak self] in
                    do { try await Task.sleep(for: timeout) } catch { return }
                    self?.timeOutWaiter(id)
                }
                enum Outcome { case lease(Lease), waiting, cancelled, closed }
                let outcome: Outcome = state.withLock { state in
                    if state.closed { return .closed }
                    if let lease = Self.takeAvailable(&state, max: maxConnections) { return .lease(lease) }
                    // Checked under the lock: a cancellation handler that already ran found no waiter to remove.
                    if Task.isCancelled { return .cancelled }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timeoutTask: timeoutTask))
                    return .waiting
                }
                switch outcome {
                case .waiting:
                    break
                case .lease(let lease):
                    timeoutTask.cancel()
                    continuation.resume(returning: lease)
                case .cancelled:
                    timeoutTask.cancel()
                    continuation.resume(throwing: CancellationError())
                case .closed:
                    timeoutTask.cancel()
                    continuation.resume(throwing: Self.poolClosedError)
                }
            }
        } onCancel: {
            self.removeWaiter(id, error: CancellationError())
        }
    }

    private static func takeAvailable(_ state: inout State, max: Int) -> Lease? {
        if let entry = state.idle.popLast() {
            state.inUse += 1
            return .connection(entry.connection, idleSince: entry.since)
        }
        if state.open < max {
            state.inUse += 1
            return .openSlot
        }
        return nil
    }

    private func timeOutWaiter(_ id: UInt64) {
        let removed = state.withLock { state -> Bool in
            guard state.waiters.contains(where: { $0.id == id }) else { return false }
            state.acquireTimeouts += 1
            return true
        }
        guard removed else { return }
        logger.debug("postgres pool: acquire timed out", metadata: ["db.pool.max": "\(maxConnections)"])
        removeWaiter(id, error: PostgresError(
            code: .poolExhausted,
            safeReason: "no connection became available within \(acquireTimeout) (max \(maxConnections))",
            statementWasSent: false
        ))
    }

    private func removeWaiter(_ id: UInt64, error: any Error) {
        let waiter: Waiter? = state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timeoutTask.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// Closes a leased connection and passes its slot to the next waiter, if any.
    private func discard(_ connection: PostgresConnection) {
        connection.worker.closeInBackground()
        giveBackSlot()
    }

    /// A leased slot is free again: the first waiter may open a connection in it.
    private func giveBackSlot() {
        let waiter: Waiter? = state.withLock { state in
            if !state.closed, !state.waiters.isEmpty {
                return state.waiters.removeFirst()  // the slot stays counted as in use, now for the waiter
            }
            state.inUse -= 1
            return nil
        }
        if let waiter {
            waiter.timeoutTask.cancel()
            waiter.continuation.resume(returning: .openSlot)
        }
    }
}
