import CLibPQ
import Foundation
import Logging

/// The thread that owns one libpq connection, and the queue through which async callers hand it work.
///
/// Every blocking libpq call for the connection happens on this thread, so libpq may block here freely (DNS, TLS,
/// `PQcancel`, waiting for results) without ever touching Swift's cooperative pool. Callers enqueue a job (a
/// closure) and suspend on a continuation that the thread resumes. Between jobs the thread sleeps in `poll(2)` on
/// the socket and a wake-up pipe, which also lets it notice NOTIFY messages and a server that hung up while idle.
///
/// Fast path for plain statements: when the thread is asleep with nothing queued, the caller *borrows* the
/// connection and sends the statement itself (a small, non-blocking write), then queues the job that reads the
/// result without waking the thread — the server's reply on the socket wakes it. That saves one thread wake-up per
/// statement. Ownership of the `PGconn*` passes between the thread and at most one borrower under `state`'s lock:
/// the thread touches it only while not sleeping and not borrowed; a borrower only while `borrowed` is set.
final class ConnectionWorker: Sendable {
    enum JobInput {
        case run(ConnectionContext)
        case rejected(any Error)
    }

    struct Job: Sendable {
        let sequence: UInt64
        /// The statement was already sent by a borrower: the job must run (to read the result) even if cancelled.
        var mustRun = false
        let run: @Sendable (JobInput) -> Void
    }

    struct State {
        var jobs: [Job] = []
        /// The thread is (about to be) asleep in poll on the socket and the pipe, and does not touch the connection.
        var threadSleeping = false
        /// A caller has borrowed the connection (see the type's documentation).
        var borrowed = false
        /// The thread woke up during a borrow and waits on the pipe only, for the borrow to end.
        var waitingForBorrow = false
        /// No further jobs are accepted.
        var closed = false
        var nextSequence: UInt64 = 1
        var runningSequence: UInt64 = 0
        /// The most recent job whose task was cancelled.
        var cancelledSequence: UInt64 = 0
        /// The task waiting for `connect` was cancelled.
        var connectCancelled = false
        /// Published by the thread after every job: the connection is unusable.
        var broken = false
        /// Published by the thread after every job: `PQtransactionStatus`.
        var transactionStatus = PQTRANS_IDLE
    }

    let state = LockedState(State())
    let wakeup: WakeupSignal
    private let borrowable = BorrowableContext()

    /// Statements up to this size (SQL plus parameter text) are sent by a borrowing caller: far below a socket's send
    /// buffer, which is empty between statements, so the write cannot block.
    private static let borrowLimit = 16 * 1024

    init() throws(PostgresError) {
        wakeup = try WakeupSignal()
    }

    // MARK: Starting

    /// Starts the thread, which connects and reports the outcome through `connected`.
    func start(
        configuration: PostgresConfiguration,
        logger: Logger,
        connected: @escaping @Sendable (Result<Int32, PostgresError>) -> Void
    ) {
        let thread = Thread { [self] in
            self.threadMain(configuration: configuration, logger: logger, connected: connected)
        }
        thread.name = "herald-postgres"
        thread.start()
    }

    private enum Next {
        case run(Job, cancelled: Bool)
        case idle
        case waitForBorrow
    }

    private func threadMain(
        configuration: PostgresConfiguration,
        logger: Logger,
        connected: @Sendable (Result<Int32, PostgresError>) -> Void
    ) {
        let context: ConnectionContext
        do {
            context = try ConnectionContext.connect(configuration: configuration, worker: self, logger: logger)
        } catch {
            let rejected = state.withLock { state in
                state.closed = true
                state.broken = true
                defer { state.jobs = [] }
                return state.jobs
            }
            connected(.failure(error))
            for job in rejected { job.run(.rejected(error)) }
            return
        }
        context.publishStatus()
        borrowable.context = context
        connected(.success(context.backendPID))

        while !context.isFinished {
            let next: Next = state.withLock { state in
                if state.borrowed {
                    state.waitingForBorrow = true
                    state.threadSleeping = false
                    return .waitForBorrow
                }
                state.waitingForBorrow = false
                state.threadSleeping = false  // the thread owns the connection from here
                guard !state.jobs.isEmpty else {
                    state.runningSequence = 0
                    return .idle
                }
                let job = state.jobs.removeFirst()
                state.runningSequence = job.sequence
                return .run(job, cancelled: job.sequence == state.cancelledSequence)
            }
            switch next {
            case .run(let job, let cancelled):
                if cancelled && !job.mustRun {
                    job.run(.rejected(CancellationError()))
                } else {
                    context.currentSequence = job.sequence
                    job.run(.run(context))
                }
            case .waitForBorrow:
                _ = pollSocket(-1, events: 0, wakeup: wakeup, deadline: nil)
                wakeup.drain()
            case .idle:
                let socket = context.idleSocket()
                let sleeping = state.withLock { state -> Bool in
                    guard state.jobs.isEmpty else { return false }
                    state.threadSleeping = true
                    return true
                }
                guard sleeping else { continue }
                let outcome = pollSocket(socket, events: Int16(POLLIN), wakeup: wakeup, deadline: nil)
                if outcome.woken { wakeup.drain() }
                guard outcome.ready else { continue }
                // Input while idle: read it, unless a borrower holds the connection or a job is queued (they will).
                let owned = state.withLock { state -> Bool in
                    if state.borrowed || !state.jobs.isEmpty { return false }
                    state.threadSleeping = false
                    return true
                }
                if owned { context.consumeIdleInput() }
            }
        }

        borrowable.context = nil
        let rejected = state.withLock { state in
            state.closed = true
            state.broken = true
            defer { state.jobs = [] }
            return state.jobs
        }
        for job in rejected {
            job.run(.rejected(PostgresError(code: .connectionClosed, safeReason: "the connection was closed", statementWasSent: false)))
        }
    }

    // MARK: Submitting work

    /// Reserves the sequence number of a job about to be submitted (so a cancellation handler can name it).
    func reserveSequence() -> UInt64 {
        state.withLock { state in
            defer { state.nextSequence &+= 1 }
            return state.nextSequence
        }
    }

    /// Queues a job; if the connection is closed or the job was already cancelled, `run` is called at once with `.rejected`.
    func submit(sequence: UInt64, _ run: @escaping @Sendable (JobInput) -> Void) {
        enum Outcome { case queued(wake: Bool), closed, cancelled }
        let outcome: Outcome = state.withLock { state in
            if state.closed { return .closed }
            if state.cancelledSequence == sequence { return .cancelled }
            state.jobs.append(Job(sequence: sequence, run: run))
            let wake = state.threadSleeping
            state.threadSleeping = false
            return .queued(wake: wake)
        }
        switch outcome {
        case .queued(let wake):
            if wake { wakeup.signal() }
        case .closed:
            run(.rejected(PostgresError(code: .connectionClosed, safeReason: "the connection is closed", statementWasSent: false)))
        case .cancelled:
            run(.rejected(CancellationError()))
        }
    }

    /// Runs `work` on the connection's thread and returns its result.
    /// With `cancellable`, cancelling the calling task removes a queued job or sends the server a cancel request.
    func perform<T: Sendable>(
        cancellable: Bool = true,
        _ work: @escaping @Sendable (ConnectionContext) throws -> T
    ) async throws -> T {
        let sequence = reserveSequence()
        let operation = {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<T, any Error>) in
                self.submit(sequence: sequence) { input in
                    Self.complete(continuation, input: input) { context in try work(context) }
                }
            }
        }
        guard cancellable else { return try await operation() }
        return try await withTaskCancellationHandler(operation: operation) {
            self.cancel(sequence: sequence)
        }
    }

    /// Runs one statement: sent by the caller itself when the connection is free (see the type's documentation),
    /// otherwise queued like any job.
    func runQuery(_ query: PostgresQuery, timeout: Duration?) async throws -> PostgresRows {
        let sequence = reserveSequence()
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<PostgresRows, any Error>) in
                // With a timeout the thread must be awake to watch the clock, so there is nothing to save.
                let small = query.sql.utf8.count + query.bindings.storage.bytes.count <= Self.borrowLimit
                if small, timeout == nil, let context = tryBorrow() {
                    let mode: ConnectionContext.SendMode
                    do {
                        mode = try context.send(query)
                    } catch {
                        context.publishStatus()
                        endBorrow(insert: nil)
                        continuation.resume(throwing: error)
                        return
                    }
                    endBorrow(insert: Job(sequence: sequence, mustRun: true) { input in
                        Self.complete(continuation, input: input) { context in
                            try context.collect(query, mode: mode, deadline: nil)
                        }
                    })
                } else {
                    submit(sequence: sequence) { input in
                        Self.complete(continuation, input: input) { context in try context.execute(query, timeout: timeout) }
                    }
                }
            }
        } onCancel: {
            self.cancel(sequence: sequence)
        }
    }

    private static func complete<T: Sendable>(
        _ continuation: UnsafeContinuation<T, any Error>,
        input: JobInput,
        _ work: (ConnectionContext) throws -> T
    ) {
        switch input {
        case .run(let context):
            let result = Result { try work(context) }
            context.publishStatus()
            if case .failure(let error as PostgresError) = result, error.code == .cancelled {
                continuation.resume(throwing: CancellationError())
            } else {
                continuation.resume(with: result)
            }
        case .rejected(let error):
            continuation.resume(throwing: error)
        }
    }

    /// Takes the connection from the sleeping thread, if it sleeps with nothing queued.
    private func tryBorrow() -> ConnectionContext? {
        state.withLock { state in
            guard state.threadSleeping, !state.waitingForBorrow, !state.borrowed, state.jobs.isEmpty,
                  !state.closed, !state.broken, let context = borrowable.context else { return nil }
            state.borrowed = true
            return context
        }
    }

    /// Gives the connection back, with the job that reads the result first in line.
    private func endBorrow(insert job: Job?) {
        let wake = state.withLock { state -> Bool in
            state.borrowed = false
            if let job { state.jobs.insert(job, at: 0) }
            // A sleeping thread wakes by itself when the reply arrives; one waiting on the pipe needs a signal.
            // So does one whose caller was cancelled meanwhile: its job must start now to send the cancel request.
            let cancelled = job.map { state.cancelledSequence == $0.sequence } ?? false
            let wake = state.waitingForBorrow || cancelled || (job != nil && !state.threadSleeping)
            state.waitingForBorrow = false
            return wake
        }
        if wake { wakeup.signal() }
    }

    /// Cancels job `sequence`: drops it if still queued, or asks the thread to send a cancel request if it is
    /// running (or must run because its statement was already sent).
    func cancel(sequence: UInt64) {
        enum Action { case none, reject(Job), wake }
        let action: Action = state.withLock { state in
            state.cancelledSequence = sequence
            if let index = state.jobs.firstIndex(where: { $0.sequence == sequence }) {
                // Its statement was sent: wake the thread to start the job, which then sends a cancel request.
                if state.jobs[index].mustRun { return .wake }
                return .reject(state.jobs.remove(at: index))
            }
            return state.runningSequence == sequence ? .wake : .none
        }
        switch action {
        case .none: break
        case .reject(let job): job.run(.rejected(CancellationError()))
        case .wake: wakeup.signal()
        }
    }

    /// Abandons a connection attempt in progress (the connecting task was cancelled).
    func cancelConnect() {
        state.withLock { $0.connectCancelled = true }
        wakeup.signal()
    }

    var isConnectCancelled: Bool {
        state.withLock { $0.connectCancelled }
    }

    /// Whether the caller of job `sequence` has been cancelled (read by the thread when woken mid-statement).
    func isCancelled(sequence: UInt64) -> Bool {
        sequence != 0 && state.withLock { $0.cancelledSequence == sequence }
    }

    // MARK: Status

    var isClosedOrBroken: Bool {
        state.withLock { $0.closed || $0.broken }
    }

    var transactionStatus: PGTransactionStatusType {
        state.withLock { $0.transactionStatus }
    }

    /// Asks the thread to close the connection, without waiting (used from `deinit`).
    func closeInBackground() {
        let sequence = reserveSequence()
        submit(sequence: sequence) { input in
            if case .run(let context) = input { context.close() }
        }
    }
}

/// Where a borrowing caller finds the connection's context.
private final class BorrowableContext: @unchecked Sendable {
    // @unchecked Sendable: `context` is written by the connection's thread before it reports the connection as open
    // and after its loop ends, and read by borrowers only inside `state.withLock` while the thread sleeps; the
    // context itself is then used by exactly one thread at a time (the `borrowed` handshake).
    var context: ConnectionContext?
}
