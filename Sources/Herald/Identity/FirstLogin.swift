import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The first admin's login, kept readable in `$HERALD_DATA_DIR/initial-admin-password`
/// (mode 0600, in a data directory of mode 0700) until that password is changed — as Jenkins
/// does — so `make run` can show it on every start of a fresh install, not only the very first.
///
/// The generated password only opens the door: the first login must choose a new password
/// (``User/passwordChangeRequired``). Changing it deletes the file, and `herald serve` stops
/// printing it.
public struct FirstLogin: Sendable {
    public let email: String
    public let password: String

    static func path(dataDirectory: String) -> String { dataDirectory + "/initial-admin-password" }

    /// Creates the first admin when there are no users; otherwise returns the recorded first
    /// login while it still works. Deletes the record once the password no longer matches.
    public static func ensure(identity: IdentityService, dataDirectory: String) async throws -> FirstLogin? {
        let file = path(dataDirectory: dataDirectory)
        DataDirectory.makePrivate(dataDirectory)
        if let created = try await identity.bootstrapFirstAdmin() {
            // Best effort: the password is printed either way; the file only repeats it on later starts.
            try? SecureFile.create(file, contents: created.password, replacingExisting: true)
            identity.firstLoginFile.record(file)
            return FirstLogin(email: created.user.email, password: created.password)
        }
        guard let recorded = try? String(contentsOfFile: file, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !recorded.isEmpty
        else { return nil }
        guard let admin = try await identity.user(email: IdentityService.firstAdminEmail),
            try await identity.passwordMatches(email: IdentityService.firstAdminEmail, password: recorded)
        else {
            try? FileManager.default.removeItem(atPath: file)
            return nil
        }
        if !admin.passwordChangeRequired {
            // Created before password changes were forced, and still on the printed password.
            try await identity.requirePasswordChange(userID: admin.id)
        }
        identity.firstLoginFile.record(file)
        return FirstLogin(email: IdentityService.firstAdminEmail, password: recorded)
    }

    /// Deletes the recorded first login (its password was reset through the CLI).
    public static func discard(dataDirectory: String) {
        try? FileManager.default.removeItem(atPath: path(dataDirectory: dataDirectory))
    }
}

/// Where this process keeps the first admin's password file, so changing that password can
/// delete it (shared by every copy of one ``IdentityService``).
final class FirstLoginFile: Sendable {
    private let path = Mutex<String?>(nil)

    func record(_ file: String) { path.withLock { $0 = file } }

    /// The generated password is no longer the password: forget it everywhere.
    func remove() {
        guard let file = path.withLock({ path in defer { path = nil }; return path }) else { return }
        try? FileManager.default.removeItem(atPath: file)
    }
}

/// The data directory holds the server secret and the first admin's password: only its owner
/// may read it.
enum DataDirectory {
    /// Creates the directory with mode 0700, or takes group and other permissions away from an
    /// existing one we own. One exception: as root with the embedded PostgreSQL inside it, the
    /// `postgres` user must still pass through (0711: enter, not list or read).
    static func makePrivate(_ directory: String) {
        let fm = FileManager.default
        if !fm.fileExists(atPath: directory) {
            let parent = (directory as NSString).deletingLastPathComponent
            if !parent.isEmpty { try? fm.createDirectory(atPath: parent, withIntermediateDirectories: true) }
            _ = mkdir(directory, 0o700)
        }
        var info = stat()
        guard stat(directory, &info) == 0, info.st_uid == geteuid() else { return }
        let wanted: mode_t = geteuid() == 0 && hasEmbeddedCluster(in: directory) ? 0o711 : 0o700
        if info.st_mode & 0o777 != wanted && info.st_mode & 0o077 & ~wanted != 0 {
            _ = chmod(directory, wanted)
        }
    }

    static func hasEmbeddedCluster(in directory: String) -> Bool {
        guard let location = try? String(contentsOfFile: directory + "/postgres-location", encoding: .utf8) else {
            return FileManager.default.fileExists(atPath: directory + "/postgres")
        }
        let cluster = location.trimmingCharacters(in: .whitespacesAndNewlines)
        return cluster.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/")
    }
}
