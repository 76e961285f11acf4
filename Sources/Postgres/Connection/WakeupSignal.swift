#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file descriptor that a connection's thread polls next to its socket, so other threads can wake it
/// (a new job, a cancellation): a non-blocking pipe.
final class WakeupSignal: Sendable {
    let readDescriptor: Int32
    private let writeDescriptor: Int32

    init() throws(PostgresError) {
        var descriptors: [Int32] = [0, 0]
        guard pipe(&descriptors) == 0 else {
            throw PostgresError(code: .connectionFailed, underlyingMessage: "pipe failed: errno \(errno)",
                                safeReason: "could not create the connection's wake-up descriptor")
        }
        for descriptor in descriptors {
            _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = descriptors[0]
        writeDescriptor = descriptors[1]
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeDescriptor, &byte, 1)  // a full pipe (EAGAIN) is fine: the reader is already due to wake
    }

    func drain() {
        // One read takes everything written so far (a wake-up is one byte); anything later wakes poll again.
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        _ = withUnsafeMutableBytes(of: &buffer) { read(readDescriptor, $0.baseAddress, $0.count) }
    }
}

/// What `poll(2)` reported.
struct PollOutcome {
    var ready = false
    var woken = false
    var timedOut = false
}

/// Waits until `socket` is ready for `events` (POLLIN/POLLOUT), the wake-up descriptor fires, or `deadline` passes.
/// `socket < 0` waits for the wake-up descriptor (or the deadline) only.
func pollSocket(_ socket: Int32, events: Int16, wakeup: WakeupSignal, deadline: ContinuousClock.Instant?) -> PollOutcome {
    var descriptors = (
        pollfd(fd: wakeup.readDescriptor, events: Int16(POLLIN), revents: 0),
        pollfd(fd: socket, events: events, revents: 0)
    )
    let count: nfds_t = socket >= 0 ? 2 : 1
    while true {
        var timeout: Int32 = -1
        if let deadline {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero {
                timeout = 0
            } else {
                let (seconds, attoseconds) = remaining.components
                let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
                timeout = Int32(clamping: milliseconds)
            }
        }
        let result = withUnsafeMutableBytes(of: &descriptors) { raw in
            poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), count, timeout)
        }
        if result < 0 {
            if errno == EINTR { continue }
            // Treat a poll failure as "ready": the caller's libpq call will report the real error.
            return PollOutcome(ready: true)
        }
        var outcome = PollOutcome()
        outcome.woken = descriptors.0.revents != 0
        outcome.ready = socket >= 0 && descriptors.1.revents != 0
        if result == 0 {
            if let deadline, ContinuousClock.now < deadline { continue }
            outcome.timedOut = deadline != nil
        }
        return outcome
    }
}
