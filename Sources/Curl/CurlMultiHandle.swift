import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libcurl multi handle (`CURLM *`) driven through the socket interface, freed in `deinit`.
///
/// Confined to the client's thread. libcurl tells `events` which sockets to watch and when its
/// next timeout is due; the thread polls those sockets and reports readiness back with
/// `socketAction(_:_:)` (https://curl.se/libcurl/c/curl_multi_socket_action.html). Unlike
/// `curl_multi_perform`, which visits (and polls) every transfer on every call, this only
/// touches the transfers whose sockets are ready.
final class CurlMultiHandle {
    let raw: UnsafeMutableRawPointer
    /// Outlives `curl_multi_cleanup`, which may still call the socket callback.
    let events = CurlMultiEvents()

    init(maxConnectionsPerHost: Int, maxConnections: Int) {
        let initCode = herald_curl_global_init_once()
        guard initCode == CURLE_OK else {
            fatalError("curl_global_init failed: \(String(cString: curl_easy_strerror(initCode)))")
        }
        guard let raw = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        self.raw = raw
        let events = Unmanaged.passUnretained(self.events).toOpaque()
        let results = [
            herald_curl_multi_setopt_socketfunction(raw, curlSocketCallback),
            herald_curl_multi_setopt_pointer(raw, CURLMOPT_SOCKETDATA, events),
            herald_curl_multi_setopt_timerfunction(raw, curlTimerCallback),
            herald_curl_multi_setopt_pointer(raw, CURLMOPT_TIMERDATA, events),
            // Connections open to one host at once; libcurl queues transfers beyond it.
            herald_curl_multi_setopt_long(raw, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost),
            // Idle connections kept for reuse; the default (4 per added handle) closes
            // connections after a burst.
            herald_curl_multi_setopt_long(raw, CURLMOPT_MAXCONNECTS, maxConnections),
        ]
        precondition(results.allSatisfy { $0 == CURLM_OK }, "curl_multi_setopt failed: \(results)")
    }

    deinit {
        curl_multi_cleanup(raw)
    }

    /// Reports `flags` (CURL_CSELECT_*) on `socket`, or lets timers run for `CURL_SOCKET_TIMEOUT`.
    @discardableResult
    func socketAction(_ socket: curl_socket_t, _ flags: Int32) -> CURLMcode {
        var running: Int32 = 0
        return curl_multi_socket_action(raw, socket, flags, &running)
    }
}

/// The sockets libcurl wants watched (as a `pollfd` array, the wakeup pipe first) and its timer.
final class CurlMultiEvents {
    private(set) var pollFDs: [pollfd]
    private var indexBySocket: [curl_socket_t: Int] = [:]
    /// When libcurl wants `CURL_SOCKET_TIMEOUT` reported; nil when it has no timer.
    var timerDeadline: ContinuousClock.Instant?

    init() {
        pollFDs = [pollfd(fd: -1, events: Int16(POLLIN), revents: 0)]
    }

    /// Watches `fd` first, for reading (the wakeup pipe).
    func setWakeupDescriptor(_ fd: Int32) {
        pollFDs[0].fd = fd
    }

    /// The milliseconds `poll` may sleep before libcurl's timer is due, capped at `maximum`.
    func pollTimeout(maximum: Int32) -> Int32 {
        guard let deadline = timerDeadline else { return maximum }
        let left = deadline - .now
        if left <= .zero { return 0 }
        let (seconds, attoseconds) = left.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: min(milliseconds, Int64(maximum)))
    }

    /// Whether the timer is due; clears it when it is (libcurl sets a new one as needed).
    func takeDueTimer() -> Bool {
        guard let deadline = timerDeadline, deadline <= .now else { return false }
        timerDeadline = nil
        return true
    }

    /// Sleeps in `poll` until a socket is ready or `timeout` ms pass, then calls `body` with each
    /// ready socket (the wakeup pipe excluded) and its CURL_CSELECT_* flags, collected first so
    /// that `body` may change the set. Returns whether the wakeup pipe was readable.
    func waitForEvents(timeout: Int32, into ready: inout [(curl_socket_t, Int32)]) -> Bool {
        ready.removeAll(keepingCapacity: true)
        let count = pollFDs.withUnsafeMutableBufferPointer { fds in
            poll(fds.baseAddress, nfds_t(fds.count), timeout)
        }
        guard count > 0 else { return false }
        for index in 1..<pollFDs.count where pollFDs[index].revents != 0 {
            let revents = Int32(pollFDs[index].revents)
            var flags: Int32 = 0
            if revents & Int32(POLLIN) != 0 { flags |= CURL_CSELECT_IN }
            if revents & Int32(POLLOUT) != 0 { flags |= CURL_CSELECT_OUT }
            if revents & Int32(POLLERR | POLLHUP | POLLNVAL) != 0 { flags |= CURL_CSELECT_ERR }
            ready.append((pollFDs[index].fd, flags))
        }
        return pollFDs[0].revents != 0
    }

    /// CURLMOPT_SOCKETFUNCTION: what libcurl wants watched on `socket` (CURL_POLL_*).
    fileprivate func update(socket: curl_socket_t, what: Int32) {
        if what == CURL_POLL_REMOVE {
            guard let index = indexBySocket.removeValue(forKey: socket) else { return }
            let last = pollFDs.count - 1
            if index != last {
                pollFDs[index] = pollFDs[last]
                indexBySocket[pollFDs[index].fd] = index
            }
            pollFDs.removeLast()
            return
        }
        var events: Int16 = 0
        if what & CURL_POLL_IN != 0 { events |= Int16(POLLIN) }
        if what & CURL_POLL_OUT != 0 { events |= Int16(POLLOUT) }
        if let index = indexBySocket[socket] {
            pollFDs[index].events = events
        } else {
            indexBySocket[socket] = pollFDs.count
            pollFDs.append(pollfd(fd: socket, events: events, revents: 0))
        }
    }
}

private let curlSocketCallback: herald_curl_socket_callback = { _, socket, what, userData, _ in
    Unmanaged<CurlMultiEvents>.fromOpaque(userData!).takeUnretainedValue().update(socket: socket, what: what)
    return 0
}

private let curlTimerCallback: herald_curl_timer_callback = { _, timeout, userData in
    let events = Unmanaged<CurlMultiEvents>.fromOpaque(userData!).takeUnretainedValue()
    events.timerDeadline = timeout < 0 ? nil : .now + .milliseconds(timeout)
    return 0
}

/// A self-pipe that wakes the client's thread out of `poll`. `wake()` may be called from any thread.
final class WakeupPipe: Sendable {
    let readFD: Int32
    private let writeFD: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fatalError("pipe failed: \(errno)") }
        for fd in fds {
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Makes the thread's next or current `poll` return. A full pipe already wakes it.
    func wake() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Empties the pipe (client thread).
    func drain() {
        var buffer = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &buffer, { read(readFD, $0.baseAddress, $0.count) }) > 0 {}
    }
}
