import CCurl
import Logging

/// The client thread's state and loop: it owns the multi handle's transfers and every easy handle.
///
/// Each turn takes new requests and cancellations from the shared queues in one lock, fills the
/// free slots from the FIFO, runs libcurl's due timers, collects finished transfers, publishes
/// statistics, resumes all their continuations in one batch, then sleeps in `poll` until one of
/// libcurl's sockets is ready (handed to `curl_multi_socket_action`), its timer is due, or the
/// wakeup pipe is written.
final class TransferLoop {
    private let core: ClientCore
    private let handle: CurlMultiHandle
    private let multi: UnsafeMutableRawPointer
    private let configuration: HTTPClient.Configuration
    private let logger: Logger

    /// Submitted requests waiting for a slot, oldest first (cancelled ones are skipped lazily).
    private var waiting = FIFO<Transfer>()
    /// How many of `waiting` are cancelled already.
    private var cancelledWhileWaiting = 0
    /// Transfers added to the multi handle, by easy handle.
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Easy handles ready for the next transfer.
    private var idle: [CurlEasyHandle] = []
    /// Finished transfers whose continuations are resumed at the end of the turn.
    private var finished: [(Transfer, Result<RawResponse, HTTPClientError>)] = []
    private var completedDelta = 0
    private var connectionsDelta = 0

    /// Runs the jobs of tasks that prefer `HTTPClient.executor`.
    private let executor: UnownedTaskExecutor?

    init(core: ClientCore, executor: UnownedTaskExecutor?) {
        self.core = core
        self.executor = executor
        handle = CurlMultiHandle(
            maxConnectionsPerHost: core.configuration.maxConnectionsPerHost,
            maxConnections: max(core.configuration.maxConcurrentTransfers, core.configuration.maxConnectionsPerHost))
        handle.events.setWakeupDescriptor(core.wakeup.readFD)
        multi = handle.raw
        configuration = core.configuration
        logger = core.logger
    }

    func run() {
        var pending: [Transfer] = []
        var cancellations: [Transfer] = []
        var jobs: [UnownedJob] = []
        var ready: [(curl_socket_t, Int32)] = []
        while true {
            if let executor {
                // Tasks that prefer the client's executor run here; their requests land in `pending`.
                core.shared.withLock { swap(&jobs, &$0.jobs) }
                for job in jobs { job.runSynchronously(on: executor) }
                jobs.removeAll(keepingCapacity: true)
            }
            let stop = core.shared.withLock { shared -> Bool in
                swap(&pending, &shared.pending)
                swap(&cancellations, &shared.cancellations)
                shared.awake = true
                return shared.shutdownRequested
            }
            if stop {
                failEverything(pending: pending)
                return
            }
            for transfer in pending { waiting.append(transfer) }
            pending.removeAll(keepingCapacity: true)
            for transfer in cancellations { cancel(transfer) }
            cancellations.removeAll(keepingCapacity: true)

            startWaitingTransfers()
            if handle.events.takeDueTimer() {
                check(handle.socketAction(CURL_SOCKET_TIMEOUT, 0))
            }
            collectFinishedTransfers()
            startWaitingTransfers()
            publishAndResume()

            // Sleep only if nothing arrived meanwhile; from here on, callers write the pipe.
            let sleep = core.shared.withLock { shared -> Bool in
                if shared.hasWork { return false }
                shared.awake = false
                return true
            }
            let timeout = sleep ? handle.events.pollTimeout(maximum: 1000) : 0
            if handle.events.waitForEvents(timeout: timeout, into: &ready) {
                core.wakeup.drain()
            }
            for (socket, flags) in ready {
                check(handle.socketAction(socket, flags))
            }
        }
    }

    private func check(_ code: CURLMcode) {
        if code != CURLM_OK {
            logger.error("curl_multi_socket_action failed", metadata: ["curl.multi_code": "\(code.rawValue)"])
        }
    }

    // MARK: Starting

    private func startWaitingTransfers() {
        while active.count < configuration.maxConcurrentTransfers, let transfer = waiting.popFirst() {
            guard !transfer.finished else {
                cancelledWhileWaiting -= 1
                continue
            }
            guard let easy = idle.popLast() ?? makeEasyHandle() else {
                finish(transfer, .failure(HTTPClientError(
                    .transfer, curlCode: Int(CURLE_OUT_OF_MEMORY.rawValue),
                    host: URLParts.host(of: transfer.request.url), detail: "curl_easy_init failed")))
                continue
            }
            do {
                try configure(easy, for: transfer)
            } catch {
                // The handle's options are now unknown: let it go rather than reuse it.
                finish(transfer, .failure(failure(error.code, of: transfer, message: nil)))
                continue
            }
            let added = curl_multi_add_handle(multi, easy.raw)
            guard added == CURLM_OK else {
                recycle(easy)
                finish(transfer, .failure(HTTPClientError(
                    .transfer, host: URLParts.host(of: transfer.request.url),
                    detail: "curl_multi_add_handle failed: \(added.rawValue)")))
                continue
            }
            transfer.easy = easy
            active[easy.raw] = transfer
        }
    }

    /// A new easy handle with the options every transfer shares; nil when out of memory.
    private func makeEasyHandle() -> CurlEasyHandle? {
        guard let easy = CurlEasyHandle() else { return nil }
        do {
            try easy.setErrorBuffer()
            // No SIGALRM-based DNS timeouts: they are not thread-safe.
            try easy.set(CURLOPT_NOSIGNAL, 1)
            // Only HTTP(S), for the URL and for redirects: never file://, gopher://, …
            try easy.set(CURLOPT_PROTOCOLS_STR, "http,https")
            try easy.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
            // The defaults, stated: verify the certificate chain and that it names the host.
            try easy.set(CURLOPT_SSL_VERIFYPEER, 1)
            try easy.set(CURLOPT_SSL_VERIFYHOST, 2)
            // "" disables proxies, including those from http_proxy/https_proxy/all_proxy; "*"
            // also spares libcurl reading no_proxy from the environment on every request.
            try easy.set(CURLOPT_PROXY, "")
            try easy.set(CURLOPT_NOPROXY, "*")
            try easy.set(CURLOPT_USERAGENT, configuration.userAgent)
            if configuration.followRedirects {
                try easy.set(CURLOPT_FOLLOWLOCATION, 1)
                try easy.set(CURLOPT_MAXREDIRS, 5)
            }
            // Refuses at once a response whose Content-Length is too large; the write callback
            // catches the others (chunked, or lying).
            try easy.set(CURLOPT_MAXFILESIZE_LARGE, large: configuration.maxResponseBytes)
            try easy.setWriteFunction(transferWriteCallback)
            try easy.setHeaderFunction(transferHeaderCallback)
            if configuration.addressPolicy != nil {
                try easy.setOpenSocketFunction(transferOpenSocketCallback)
            }
            return easy
        } catch {
            logger.error("curl_easy_setopt failed", metadata: ["curl.code": "\(error.code.rawValue)"])
            return nil
        }
    }

    /// Sets the options of one transfer. Handles are reused without `curl_easy_reset` (which
    /// would free and rebuild every option), so every option a previous transfer may have set
    /// is set again or cleared here.
    private func configure(_ easy: CurlEasyHandle, for transfer: Transfer) throws(CurlOptionError) {
        let request = transfer.request
        easy.clearErrorMessage()
        try easy.set(CURLOPT_URL, request.url)
        try easy.set(CURLOPT_TIMEOUT_MS, request.timeout.curlMilliseconds)
        try easy.set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeout.curlMilliseconds)
        try easy.setHeaderList(transfer.headerList)
        if let auth = request.basicAuth {
            // CURLOPT_HTTPAUTH defaults to CURLAUTH_BASIC.
            try easy.set(CURLOPT_USERNAME, auth.username)
            try easy.set(CURLOPT_PASSWORD, auth.password)
            easy.hasCredentials = true
        } else if easy.hasCredentials {
            try easy.set(CURLOPT_USERNAME, pointer: nil)
            try easy.set(CURLOPT_PASSWORD, pointer: nil)
            easy.hasCredentials = false
        }

        // The method: GET (no body) or POST (a body, possibly empty), then HEAD or a custom verb.
        let customMethod: String?
        switch request.method {
        case .GET:
            customMethod = transfer.body == nil ? nil : "GET"
        case .HEAD, .POST:
            customMethod = nil
        case .PUT, .PATCH, .DELETE:
            customMethod = request.method.rawValue
        }
        let sendsBody = request.method != .HEAD
            && (transfer.body != nil || request.method == .POST || request.method == .PUT || request.method == .PATCH)
        if sendsBody {
            try setBody(of: transfer, on: easy)
            if easy.isHead {
                try easy.set(CURLOPT_NOBODY, 0)
                easy.isHead = false
            }
        } else {
            try easy.set(CURLOPT_HTTPGET, 1)  // also clears CURLOPT_NOBODY
            easy.isHead = false
        }
        if request.method == .HEAD {
            try easy.set(CURLOPT_NOBODY, 1)
            easy.isHead = true
        }
        if let customMethod {
            try easy.set(CURLOPT_CUSTOMREQUEST, customMethod)
            easy.hasCustomMethod = true
        } else if easy.hasCustomMethod {
            try easy.set(CURLOPT_CUSTOMREQUEST, pointer: nil)
            easy.hasCustomMethod = false
        }

        let userData = Unmanaged.passUnretained(transfer).toOpaque()
        try easy.set(CURLOPT_WRITEDATA, pointer: userData)
        try easy.set(CURLOPT_HEADERDATA, pointer: userData)
        if configuration.addressPolicy != nil {
            try easy.set(CURLOPT_OPENSOCKETDATA, pointer: userData)
        }
    }

    /// The body with a Content-Length (an empty one when there is none); setting it makes the
    /// request a POST unless CURLOPT_CUSTOMREQUEST says otherwise.
    private func setBody(of transfer: Transfer, on easy: CurlEasyHandle) throws(CurlOptionError) {
        if let body = transfer.body {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, large: body.count)
            try easy.set(CURLOPT_POSTFIELDS, pointer: body.baseAddress)
        } else {
            try easy.set(CURLOPT_POSTFIELDSIZE_LARGE, large: 0)
            try easy.set(CURLOPT_COPYPOSTFIELDS, "")
        }
    }

    // MARK: Finishing

    private func collectFinishedTransfers() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let raw = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result  // read before remove_handle frees the message
            guard let transfer = active.removeValue(forKey: raw), let easy = transfer.easy else { continue }
            curl_multi_remove_handle(multi, raw)
            transfer.easy = nil
            connectionsDelta += easy.info(CURLINFO_NUM_CONNECTS)
            let result: Result<RawResponse, HTTPClientError>
            if code == CURLE_OK {
                result = .success(RawResponse(
                    status: easy.info(CURLINFO_RESPONSE_CODE),
                    headerBlock: transfer.responseHeaderBlock,
                    body: transfer.responseBody))
            } else {
                result = .failure(failure(code, of: transfer, message: easy.errorMessage))
            }
            transfer.responseHeaderBlock = []
            transfer.responseBody = []
            recycle(easy)
            finish(transfer, result)
        }
    }

    private func failure(_ code: CURLcode, of transfer: Transfer, message: String?) -> HTTPClientError {
        let host = URLParts.host(of: transfer.request.url)
        let error: HTTPClientError
        if transfer.responseTooLarge, code == CURLE_WRITE_ERROR {
            error = HTTPClientError(.responseTooLarge, curlCode: Int(code.rawValue), host: host,
                                    detail: "body larger than \(configuration.maxResponseBytes) bytes")
        } else if code == CURLE_COULDNT_CONNECT, let refused = transfer.refusedAddress {
            error = HTTPClientError(.addressNotAllowed, curlCode: Int(code.rawValue), host: host,
                                    detail: "the address policy refused a connection to \(refused)")
        } else {
            error = HTTPClientError(HTTPClientError.Code(curlCode: code), curlCode: Int(code.rawValue), host: host,
                                    detail: message ?? String(cString: curl_easy_strerror(code)))
        }
        logger.debug("HTTP request failed", metadata: [
            "http.host": "\(host ?? "-")", "http.error": "\(error.code)", "curl.code": "\(code.rawValue)",
        ])
        return error
    }

    private func cancel(_ transfer: Transfer) {
        guard !transfer.finished else { return }
        if let easy = transfer.easy {
            // Removing a running transfer closes its connection; libcurl never reuses it.
            curl_multi_remove_handle(multi, easy.raw)
            active[easy.raw] = nil
            transfer.easy = nil
            recycle(easy)
        } else {
            cancelledWhileWaiting += 1
        }
        finish(transfer, .failure(HTTPClientError(.cancelled, host: URLParts.host(of: transfer.request.url))))
    }

    private func finish(_ transfer: Transfer, _ result: Result<RawResponse, HTTPClientError>) {
        transfer.finished = true
        completedDelta += 1
        finished.append((transfer, result))
    }

    /// Keeps the handle for the next transfer, after dropping its pointers into the finished
    /// transfer's memory (header list, body, callback data).
    private func recycle(_ easy: CurlEasyHandle) {
        guard idle.count < configuration.maxConcurrentTransfers, easy.forgetTransfer() else { return }
        idle.append(easy)
    }

    /// Publishes the counters, then resumes every finished request, outside the lock.
    private func publishAndResume() {
        let inFlight = active.count
        let queued = waiting.count - cancelledWhileWaiting
        let completed = completedDelta
        let connections = connectionsDelta
        completedDelta = 0
        connectionsDelta = 0
        core.shared.withLock { shared in
            shared.statistics.inFlight = inFlight
            shared.statistics.queued = queued
            shared.statistics.completed += completed
            shared.statistics.connectionsOpened += connections
        }
        guard !finished.isEmpty else { return }
        for (transfer, result) in finished {
            let continuation = transfer.continuation
            transfer.continuation = nil
            switch result {
            case .success(let response): continuation?.resume(returning: response)
            case .failure(let error): continuation?.resume(throwing: error)
            }
        }
        finished.removeAll(keepingCapacity: true)
    }

    /// Shutdown: fails everything not finished with `.shutdown` and lets go of every easy handle.
    private func failEverything(pending: [Transfer]) {
        let shutdown: (Transfer) -> Result<RawResponse, HTTPClientError> = {
            .failure(HTTPClientError(.shutdown, host: URLParts.host(of: $0.request.url)))
        }
        for (raw, transfer) in active {
            curl_multi_remove_handle(multi, raw)
            transfer.easy = nil
            finish(transfer, shutdown(transfer))
        }
        active = [:]
        while let transfer = waiting.popFirst() {
            if !transfer.finished { finish(transfer, shutdown(transfer)) }
        }
        for transfer in pending where !transfer.finished {
            finish(transfer, shutdown(transfer))
        }
        idle = []
        publishAndResume()
    }
}
