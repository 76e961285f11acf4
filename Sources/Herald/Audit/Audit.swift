import Foundation
import SMS

/// Who made a change: a dashboard user or an API key, named as they were at the time.
public struct AuditActor: Sendable, Equatable {
    public enum Kind: String, Sendable { case user, apiKey = "api_key" }

    public let kind: Kind
    public let id: UUID
    /// The user's e-mail or the key's name.
    public let label: String

    public init(kind: Kind, id: UUID, label: String) {
        self.kind = kind
        self.id = id
        self.label = label
    }

    public init(_ principal: Principal) {
        switch principal.kind {
        case .user(let user): self.init(kind: .user, id: user.id, label: user.email)
        case .apiKey(let id, let name): self.init(kind: .apiKey, id: id, label: name)
        }
    }
}

/// What was changed: `campaign` `8c1…` "Spring sale".
public struct AuditTarget: Sendable, Equatable {
    public let type: String
    public let id: String?
    public let label: String?

    public init(_ type: String, id: String? = nil, label: String? = nil) {
        self.type = type
        self.id = id
        self.label = label
    }

    public init(_ type: String, id: UUID, label: String? = nil) {
        self.init(type, id: id.uuidString.lowercased(), label: label)
    }
}

/// One change to record. `before` is absent for creations, `after` for deletions.
public struct AuditChange: Sendable {
    public let action: String
    public let target: AuditTarget
    public let before: JSONValue?
    public let after: JSONValue?

    public init(_ action: String, _ target: AuditTarget, before: JSONValue? = nil, after: JSONValue? = nil) {
        self.action = action
        self.target = target
        self.before = before
        self.after = after
    }
}

/// A recorded change, as `GET /v1/audit` lists it.
public struct AuditEntry: Sendable {
    public let id: UUID
    public let createdAt: Date
    public let actor: AuditActor
    public let action: String
    public let target: AuditTarget
    public let before: JSONValue?
    public let after: JSONValue?
    public let clientIP: String?
}

/// `GET /v1/audit`'s filters, validated.
public struct AuditFilter: Sendable, Equatable {
    public enum Actor: Sendable, Equatable {
        case id(UUID)
        /// An e-mail or key name, matched without regard to case.
        case label(String)
    }

    public enum Action: Sendable, Equatable {
        /// `campaign.pause`
        case exact(String)
        /// `campaign`: every `campaign.*`
        case family(String)
    }

    public var actor: Actor?
    public var action: Action?
    public var targetType: String?
    public var targetID: String?
    /// Entries at or after this instant.
    public var after: Date?
    /// Entries before this instant.
    public var before: Date?

    public init() {}

    /// Parses the query parameters; a bad value is `validation_failed` naming its parameter.
    public init(actor: String?, action: String?, targetType: String?, targetID: String?, after: String?, before: String?) throws {
        if let actor = actor?.trimmingCharacters(in: .whitespaces), !actor.isEmpty {
            guard actor.count <= 320, !Self.hasControlCharacters(actor) else {
                throw HeraldError.validation("actor", "must be an id, an e-mail or a key name of at most 320 characters")
            }
            self.actor = UUID(uuidString: actor).map(Actor.id) ?? .label(actor)
        }
        if let action, !action.isEmpty {
            guard action.count <= 64, action.wholeMatch(of: /[a-z_]+(\.[a-z_]+)?/) != nil else {
                throw HeraldError.validation("action", "must be an action such as campaign.pause, or a family such as campaign")
            }
            self.action = action.contains(".") ? .exact(action) : .family(action)
        }
        if let targetType, !targetType.isEmpty {
            guard targetType.count <= 64, targetType.wholeMatch(of: /[a-z_]+/) != nil else {
                throw HeraldError.validation("target_type", "must be a kind of object such as campaign or user")
            }
            self.targetType = targetType
        }
        if let targetID, !targetID.isEmpty {
            guard targetID.count <= 100, !Self.hasControlCharacters(targetID) else {
                throw HeraldError.validation("target_id", "must be an id of at most 100 characters")
            }
            self.targetID = targetID
        }
        self.after = try after.flatMap { $0.isEmpty ? nil : try Self.instant($0, field: "after") }
        self.before = try before.flatMap { $0.isEmpty ? nil : try Self.instant($0, field: "before") }
        if let from = self.after, let until = self.before, from >= until {
            throw HeraldError.validation("before", "must be later than after")
        }
    }

    /// PostgreSQL text holds no NUL, and no id or name holds a control character.
    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// An RFC 3339 instant, with or without fractional seconds.
    static func instant(_ text: String, field: String) throws -> Date {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard text.count <= 40, let date = plain.date(from: text) ?? fractional.date(from: text) else {
            throw HeraldError.validation(field, "must be a time such as 2026-12-01T09:00:00Z")
        }
        return date
    }
}

/// Keeps secrets out of the audit log whatever object a route hands over: any value under a
/// key that names a secret is replaced. Applied before anything is stored.
public enum AuditRedaction {
    public static let placeholder: JSONValue = "[redacted]"

    /// Whether an object key names a secret: one of its words (`auth_token`, `apiKey`,
    /// `PrivateKey`, `key_hash`) is a secret's word, or it is exactly `code`.
    public static func isSecret(_ key: String) -> Bool {
        if key.lowercased() == "code" { return true }
        return words(key).contains { secretWords.contains($0) }
    }

    static let secretWords: Set<String> = [
        "password", "passwd", "passphrase", "secret", "secrets", "token", "tokens", "key", "credential", "credentials",
        "private", "signature", "csrf", "hash", "salt", "otp",
    ]

    /// `auth_token` → auth, token; `apiKey` → api, key; `PrivateKey` → private, key.
    static func words(_ key: String) -> [String] {
        var words: [String] = []
        var current = ""
        var previousLower = false
        for character in key {
            if !(character.isLetter || character.isNumber) {
                if !current.isEmpty { words.append(current) }
                current = ""
                previousLower = false
                continue
            }
            if character.isUppercase && previousLower {
                words.append(current)
                current = ""
            }
            current += character.lowercased()
            previousLower = character.isLowercase || character.isNumber
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    public static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var result: [String: JSONValue] = [:]
            for (key, inner) in object {
                result[key] = isSecret(key) && inner != .null ? placeholder : redact(inner)
            }
            return .object(result)
        case .array(let items):
            return .array(items.map(redact))
        default:
            return value
        }
    }
}
