import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files that hold secrets (the generated server secret, the first admin's password).
enum SecureFile {
    /// Creates `path` with `contents`, readable by the owner only (0600) from the first byte:
    /// `O_CREAT | O_EXCL` with the mode, so there is no moment in which the file exists with
    /// wider permissions, and a planted symlink is never followed. An existing file is an
    /// error, unless `replacingExisting` (a stale file from an earlier database): it is then
    /// unlinked and created anew, never written through.
    static func create(_ path: String, contents: String, replacingExisting: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        var descriptor = open(path, flags, 0o600)
        if descriptor < 0 && errno == EEXIST && replacingExisting {
            _ = unlink(path)
            descriptor = open(path, flags, 0o600)
        }
        guard descriptor >= 0 else {
            throw ConfigurationError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        // The umask can only narrow the mode; make it exactly 0600 regardless.
        _ = fchmod(descriptor, 0o600)
        let bytes = Array(contents.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                throw ConfigurationError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            written += result
        }
    }
}
