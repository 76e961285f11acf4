import Foundation

/// The first admin's login, kept readable in `$HERALD_DATA_DIR/initial-admin-password`
/// (mode 0600) until that password is changed — as Jenkins does — so `make run` can show it
/// on every start of a fresh install, not only the very first.
public struct FirstLogin: Sendable {
    public let email: String
    public let password: String

    static func path(dataDirectory: String) -> String { dataDirectory + "/initial-admin-password" }

    /// Creates the first admin when there are no users; otherwise returns the recorded first
    /// login while it still works. Deletes the record once the password no longer matches.
    public static func ensure(identity: IdentityService, dataDirectory: String) async throws -> FirstLogin? {
        let file = path(dataDirectory: dataDirectory)
        if let created = try await identity.bootstrapFirstAdmin() {
            try? FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: file, contents: Data(created.password.utf8), attributes: [.posixPermissions: 0o600])
            return FirstLogin(email: created.user.email, password: created.password)
        }
        guard let recorded = try? String(contentsOfFile: file, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !recorded.isEmpty
        else { return nil }
        guard try await identity.passwordMatches(email: IdentityService.firstAdminEmail, password: recorded) else {
            try? FileManager.default.removeItem(atPath: file)
            return nil
        }
        return FirstLogin(email: IdentityService.firstAdminEmail, password: recorded)
    }
}
