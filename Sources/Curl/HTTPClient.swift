import Logging

/// An HTTP(S) client on libcurl's multi interface.
///
/// One dedicated thread per client drives every transfer, reusing keep-alive connections
/// between requests; `send(_:)` suspends without blocking Swift's cooperative pool.
/// Only `http` and `https` are spoken (redirects included), TLS peers and host names are always
/// verified, and proxies from the environment (`http_proxy`…) are ignored. With an
/// `AddressPolicy`, every connection's resolved address is checked before it is opened.
///
/// Call `shutdown()` when done; dropping the last reference also stops the thread, without waiting.
public final class HTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Transfers running at once; further requests wait in a FIFO queue.
        public var maxConcurrentTransfers: Int = 256
        /// Connections open to one host at once (CURLMOPT_MAX_HOST_CONNECTIONS); libcurl queues
        /// transfers beyond it until a connection is free.
        public var maxConnectionsPerHost: Int = 64
        /// Follows up to 5 redirects, to `http` and `https` URLs only.
        public var followRedirects: Bool = false
        /// A larger response body fails the request with `.responseTooLarge`.
        public var maxResponseBytes: Int = 8 << 20
        public var userAgent: String = "Herald"
        /// Where connections may go, checked on the resolved address of each one (redirects
        /// included) just before it is opened; a request whose every address is refused fails
        /// with `.addressNotAllowed`. Nil, the default, allows any address.
        public var addressPolicy: AddressPolicy? = nil

        public init() {}
    }

    public let configuration: Configuration
    private let core: ClientCore
    /// A `ClientTaskExecutor` where the platform has task executors.
    private let taskExecutor: (any Sendable)?

    public init(configuration: Configuration = .init(), logger: Logger) {
        precondition(configuration.maxConcurrentTransfers > 0, "maxConcurrentTransfers must be positive")
        precondition(configuration.maxConnectionsPerHost > 0, "maxConnectionsPerHost must be positive")
        precondition(configuration.maxResponseBytes >= 0, "maxResponseBytes must not be negative")
        self.configuration = configuration
        core = ClientCore(configuration: configuration, logger: logger)
        let core = self.core
        if #available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, *) {
            let executor = ClientTaskExecutor(core: core)
            taskExecutor = executor
            startThread(name: "herald-curl") { core.run(executor: executor.asUnownedTaskExecutor()) }
        } else {
            taskExecutor = nil
            startThread(name: "herald-curl") { core.run(executor: nil) }
        }
    }

    deinit {
        core.requestShutdown()
    }

    /// Sends `request` and returns the final response, whatever its status.
    ///
    /// Throws `HTTPClientError`: `.cancelled` promptly when the calling task is cancelled (the
    /// transfer is dropped and its connection closed), `.shutdown` after `shutdown()`.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = try Transfer(request: request, maxResponseBytes: configuration.maxResponseBytes,
                                    addressPolicy: configuration.addressPolicy)
        let core = self.core
        let raw = try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<RawResponse, any Error>) in
                transfer.continuation = continuation
                if let error = core.submit(transfer) {
                    transfer.continuation = nil
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            core.cancel(transfer)
        }
        return HTTPResponse(status: raw.status, headers: HTTPHeaders(headerBlock: raw.headerBlock), body: raw.body)
    }

    /// Fails queued and running requests with `.shutdown`, and returns once the client's
    /// thread has stopped. Later calls to `send(_:)` throw `.shutdown`. Idempotent.
    public func shutdown() async {
        await core.shutdown()
    }

    /// An executor that runs tasks on the client's own thread.
    ///
    /// A task that sends many requests in a row can prefer it
    /// (`withTaskExecutorPreference(client.executor) { … }`): its continuations then resume on
    /// the thread that finished the transfer, and its next request reaches libcurl without a
    /// thread switch, which saves two thread hand-overs per request. Code running there delays
    /// every transfer of the client: keep it short and never block. After `shutdown()` its jobs
    /// run on the global executor.
    @available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, *)
    public var executor: any TaskExecutor {
        taskExecutor as! ClientTaskExecutor
    }

    /// A snapshot of the client's counters.
    public var statistics: HTTPClientStatistics {
        core.statistics
    }
}

/// Counters of an `HTTPClient`.
public struct HTTPClientStatistics: Sendable, Hashable {
    /// Transfers handed to libcurl and not finished yet.
    public var inFlight: Int
    /// Requests waiting for one of the `maxConcurrentTransfers` slots.
    public var queued: Int
    /// Requests finished since the client started, whatever the outcome.
    public var completed: Int
    /// TCP connections opened since the client started (the sum of CURLINFO_NUM_CONNECTS);
    /// far below `completed` when keep-alive works.
    public var connectionsOpened: Int

    public init(inFlight: Int = 0, queued: Int = 0, completed: Int = 0, connectionsOpened: Int = 0) {
        self.inFlight = inFlight
        self.queued = queued
        self.completed = completed
        self.connectionsOpened = connectionsOpened
    }
}

/// Runs jobs on an `HTTPClient`'s thread, between two turns of its transfer loop.
@available(macOS 15.0, iOS 18.0, tvOS 18.0, watchOS 11.0, *)
final class ClientTaskExecutor: TaskExecutor {
    private let core: ClientCore

    init(core: ClientCore) {
        self.core = core
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !core.enqueue(job) {
            globalConcurrentExecutor.enqueue(ExecutorJob(job))
        }
    }
}
