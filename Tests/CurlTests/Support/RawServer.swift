import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP server on 127.0.0.1 (or another loopback `address`) made to misbehave: it accepts,
/// reads the request head, writes `response` (or nothing) and then never answers again, keeping
/// the connection open.
final class RawServer: @unchecked Sendable {
    // @unchecked Sendable: the `var`s are only touched under `lock`; `listener` and `port` never
    // change after `init`.
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    /// Descriptors still open. A descriptor is closed under the lock and removed at once, so
    /// `stop()` never shuts down a number the process has since reused for another socket.
    private var open: Set<Int32> = []
    private var listenerOpen = true
    private var accepted = 0
    private var closed = 0

    init(response: String? = nil, address: String = "127.0.0.1") throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw TestFailure("socket: \(errno)") }
        port = try bindLoopback(listener, address: address)
        guard listen(listener, 16) == 0 else { throw TestFailure("listen: \(errno)") }
        let listener = self.listener
        let reply = response.map { Array($0.utf8) }
        Thread { [self] in
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { break }
                lock.withLock {
                    accepted += 1
                    open.insert(connection)
                }
                Thread { [self] in serve(connection, reply: reply) }.start()
            }
            lock.withLock {
                listenerOpen = false
                Glibc.close(listener)
            }
        }.start()
    }

    /// Connections accepted so far.
    var acceptedCount: Int { lock.withLock { accepted } }
    /// Connections the client closed so far.
    var closedCount: Int { lock.withLock { closed } }

    /// Waits until `condition` holds, or `timeout` passes; returns whether it held.
    func wait(timeout: Duration = .seconds(30), until condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now > deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// Stops accepting and drops every connection.
    func stop() {
        lock.withLock {
            if listenerOpen { Glibc.shutdown(listener, Int32(SHUT_RDWR)) }
            for connection in open { Glibc.shutdown(connection, Int32(SHUT_RDWR)) }
        }
    }

    private func serve(_ connection: Int32, reply: [UInt8]?) {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var replied = false
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            guard !replied else { continue }
            head += buffer[0..<count]
            if let reply, head.count >= 4, head.indices.dropFirst(3).contains(where: { head[$0 - 3...$0].elementsEqual([13, 10, 13, 10]) }) {
                _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                replied = true
            }
        }
        lock.withLock {
            closed += 1
            open.remove(connection)
            Glibc.close(connection)
        }
    }
}

/// A loopback port with nothing listening on it: bound, read, closed.
func closedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
    defer { Glibc.close(fd) }
    return try bindLoopback(fd)
}

/// Binds to `host` (127.0.0.1 by default) with an OS-chosen port and returns the port.
private func bindLoopback(_ fd: Int32, address host: String = "127.0.0.1") throws -> Int {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr(host)
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
        }
    }
    guard bound else { throw TestFailure("bind: \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
