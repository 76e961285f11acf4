import Foundation

/// Input rules for identity. Pure; every failure names its field.
public enum IdentityValidation {
    /// Trimmed, lower-cased e-mail with one `@`, a dot-free-or-not domain (`admin@localhost`
    /// is the first user's address), no spaces or control characters, at most 254 bytes.
    public static func email(_ raw: String, field: String = "email") throws -> String {
        let email = raw.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            parts[0].count <= 64,
            email.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0 != "\"" && $0 != "<" && $0 != ">" }),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), !parts[1].contains("..")
        else {
            throw HeraldError.validation(field, "must be an e-mail address")
        }
        return email
    }

    /// 12 to 72 bytes: bcrypt ignores everything past 72 bytes, so longer would mislead.
    public static func password(_ password: String, field: String = "password") throws {
        guard password.count >= 12 else {
            throw HeraldError.validation(field, "must be at least 12 characters")
        }
        guard password.utf8.count <= 72 else {
            throw HeraldError.validation(field, "must be at most 72 bytes")
        }
        guard !password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw HeraldError.validation(field, "must not contain control characters")
        }
    }

    /// A display name: 1–100 characters after trimming, no control characters.
    public static func name(_ raw: String, field: String = "name") throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw HeraldError.validation(field, "must not be empty") }
        guard name.count <= 100 else { throw HeraldError.validation(field, "must be at most 100 characters") }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw HeraldError.validation(field, "must not contain control characters")
        }
        return name
    }

    public static func role(_ raw: String, field: String = "role") throws -> Role {
        guard let role = Role(rawValue: raw) else {
            throw HeraldError.validation(field, "must be one of admin, marketer, viewer")
        }
        return role
    }

    /// At least one scope, each known; duplicates collapse; sorted.
    public static func scopes(_ raw: [String], field: String = "scopes") throws -> [Scope] {
        guard !raw.isEmpty else { throw HeraldError.validation(field, "must name at least one scope") }
        var scopes = Set<Scope>()
        for (index, name) in raw.enumerated() {
            guard let scope = Scope(rawValue: name) else {
                throw HeraldError.validation(
                    "\(field)[\(index)]", "must be one of verifications, messages, contacts, campaigns, admin")
            }
            scopes.insert(scope)
        }
        return scopes.sorted()
    }
}
