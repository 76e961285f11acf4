import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Stops and deletes the clusters this process started when it exits, and sweeps ones left by processes that died.
enum TestClusterCleanup {
    private final class Registry: @unchecked Sendable {
        // @unchecked Sendable: `roots` is only touched while `lock` is held.
        let lock = NSLock()
        var roots: [(root: String, dataDirectory: String)] = []
        var actions: [@Sendable () async -> Void] = []
        var installed = false
    }

    private static let registry = Registry()

    static func installOnce() {
        registry.lock.lock()
        defer { registry.lock.unlock() }
        guard !registry.installed else { return }
        registry.installed = true
        atexit {
            TestClusterCleanup.cleanUpAll()
        }
    }

    static func register(root: String, dataDirectory: String) {
        registry.lock.lock()
        registry.roots.append((root, dataDirectory))
        registry.lock.unlock()
    }

    /// Runs `action` at exit (waiting at most 5 s for it), before local clusters are destroyed.
    static func registerAtExit(_ action: @escaping @Sendable () async -> Void) {
        registry.lock.lock()
        registry.actions.append(action)
        registry.lock.unlock()
    }

    static func cleanUpAll() {
        registry.lock.lock()
        let roots = registry.roots
        let actions = registry.actions
        registry.roots = []
        registry.actions = []
        registry.lock.unlock()
        for action in actions {
            let done = DispatchSemaphore(value: 0)
            Task.detached {
                await action()
                done.signal()
            }
            _ = done.wait(timeout: .now() + 5)
        }
        for entry in roots { destroy(root: entry.root, dataDirectory: entry.dataDirectory) }
    }

    /// Immediate shutdown (SIGQUIT to the postmaster), wait for it to go, delete the directory.
    static func destroy(root: String, dataDirectory: String) {
        if let contents = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
           let pid = contents.split(separator: "\n").first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }),
           pid > 0, isPostgres(pid) {
            kill(pid, SIGQUIT)
            for _ in 0..<100 where kill(pid, 0) == 0 {
                usleep(20_000)
            }
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Removes `/tmp/herald-test-*` directories whose owning test process is gone.
    static func sweepAbandoned() {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") else { return }
        for entry in entries where entry.hasPrefix("herald-test-") {
            let root = "/tmp/" + entry
            guard let owner = try? String(contentsOfFile: root + "/owner.pid", encoding: .utf8),
                  let pid = pid_t(owner.trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            if pid == getpid() || kill(pid, 0) == 0 { continue }
            destroy(root: root, dataDirectory: root + "/data")
        }
    }

    private static func isPostgres(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return true }
        return command.hasPrefix("postgres") || command.hasPrefix("postmaster")
    }
}
