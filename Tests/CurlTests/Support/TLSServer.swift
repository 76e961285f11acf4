import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// `openssl s_server` on 127.0.0.1 with a fresh self-signed certificate for `IP:127.0.0.1`:
/// the name matches, only the trust fails.
final class SelfSignedTLSServer: @unchecked Sendable {  // immutable after init; stop() is called once
    /// Starts one on its own thread: `openssl req` and the wait for the listener block, and the cooperative pool
    /// (two threads on a two-core machine) must keep serving the other tests meanwhile.
    static func start() async throws -> SelfSignedTLSServer {
        try await offPool { try SelfSignedTLSServer() }
    }

    let port: Int
    private let process = Process()
    private let directory: URL

    private init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("curltests-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        let request = Process()
        request.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        request.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ]
        request.standardOutput = FileHandle.nullDevice
        request.standardError = FileHandle.nullDevice
        try request.run()
        request.waitUntilExit()
        guard request.terminationStatus == 0 else { throw TestFailure("openssl req failed") }

        port = try closedLoopbackPort()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-www", "-quiet"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(5)
        while !Self.accepts(port) {
            guard ContinuousClock.now < deadline else {
                stop()
                throw TestFailure("openssl s_server did not start")
            }
            usleep(20_000)
        }
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)  // SIGTERM may be ignored (inherited SIG_IGN)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    private static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
