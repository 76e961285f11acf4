import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One `herald serve` per data directory: an exclusive `flock` on `$HERALD_DATA_DIR/serve.lock`,
/// held for the life of the process. A second server on the same directory stops before it can
/// touch (or stop) the embedded PostgreSQL the first one is using. The kernel releases the
/// lock when the process dies, even by `kill -9`, so a crash never leaves it stale.
public final class DataDirectoryLock: Sendable {
    private let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    public static func acquire(dataDirectory: String) throws -> DataDirectoryLock {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let path = dataDirectory + "/serve.lock"
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ConfigurationError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw ConfigurationError(
                "another herald serve is already running on \(dataDirectory)\(holder.isEmpty ? "" : " (pid \(holder))"); stop it or use another HERALD_DATA_DIR")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { write(descriptor, $0, strlen($0)) }
        return DataDirectoryLock(descriptor: descriptor)
    }
}
