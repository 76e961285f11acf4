import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs helper programs (initdb, pg_ctl, pg_config) without blocking the cooperative pool: the caller suspends
/// while a helper thread waits for the child to exit.
enum ProcessRunner {
    struct Output: Sendable {
        var status: Int32
        var text: String
    }

    static var isRoot: Bool { geteuid() == 0 }

    /// `runuser`'s path, used to drop from root to the `postgres` user.
    static func runuserPath() -> String? {
        ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `executable` (as `user` via `runuser` when we are root and `user` is given) with stdin from /dev/null
    /// and stdout+stderr captured in a temporary file (a pipe could be held open by a daemon it starts).
    static func run(_ executable: String, _ arguments: [String], as user: String? = nil) async throws -> Output {
        var launchPath = executable
        var launchArguments = arguments
        if let user, isRoot {
            guard let runuser = runuserPath() else {
                throw PostgresLocalServerError.commandFailed(
                    command: executable, status: -1, output: "runuser (util-linux) is needed to run it as \(user)")
            }
            launchPath = runuser
            launchArguments = ["-u", user, "--", executable] + arguments
        }

        var template = Array("/tmp/herald-pgcmd-XXXXXX".utf8CString)
        let outputDescriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard outputDescriptor >= 0 else {
            throw PostgresLocalServerError.commandFailed(command: executable, status: -1, output: "mkstemp failed: errno \(errno)")
        }
        let outputPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer {
            close(outputDescriptor)
            unlink(outputPath)
        }

        let pid = try spawn(launchPath, launchArguments, outputDescriptor: outputDescriptor)
        let status = await onDedicatedThread { () -> Int32 in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS, spelled out (the C macros do not import).
            return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return Output(status: status, text: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// posix_spawn with stdin from /dev/null, stdout and stderr to `outputDescriptor`, every other descriptor
    /// closed, and the working directory `/`. (Foundation's `Process` is not used: on Linux it detects exit through a
    /// socket the child inherits, so a daemon started by the child, like the postmaster, keeps it from ever finishing.)
    private static func spawn(_ path: String, _ arguments: [String], outputDescriptor: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 2)
        closeInheritableDescriptors(in: &actions)
        #if os(Linux)
        // Start in "/": the caller's directory may not be accessible to the postgres user (a checkout under /root).
        typealias ChangeDirectory = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") {
            _ = unsafeBitCast(symbol, to: ChangeDirectory.self)(&actions, "/")
        }
        #endif

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard result == 0 else {
            throw PostgresLocalServerError.commandFailed(
                command: path, status: -1, output: "could not start it: \(String(cString: strerror(result)))")
        }
        return pid
    }

    /// Makes the child close every descriptor above 2 that would otherwise be inherited (so the postmaster holds
    /// none of ours, such as the test runner's pipes). glibc ≥ 2.34 has `addclosefrom_np`, which the Glibc module
    /// does not export, so it is looked up at run time; otherwise the open descriptors without FD_CLOEXEC are listed.
    private static func closeInheritableDescriptors(in actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
        #if os(Linux)
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            if closeFrom(&actions, 3) == 0 { return }
        }
        #endif
        let directory = FileManager.default.fileExists(atPath: "/proc/self/fd") ? "/proc/self/fd" : "/dev/fd"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard let descriptor = Int32(entry), descriptor > 2 else { continue }
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0, flags & FD_CLOEXEC == 0 {
                posix_spawn_file_actions_addclose(&actions, descriptor)
            }
        }
    }

    /// Runs a blocking function on a short-lived thread of its own and awaits it.
    static func onDedicatedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "herald-postgres-helper"
            thread.start()
        }
    }
}
