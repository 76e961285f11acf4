import Foundation

/// What a dashboard user may do. Roles map onto API scopes so one check serves both
/// cookie sessions and API keys.
public enum Role: String, Sendable, Codable, CaseIterable {
    case admin, marketer, viewer

    /// The scopes a session of this role carries.
    public var scopes: Set<Scope> {
        switch self {
        case .admin: Set(Scope.allCases)
        case .marketer: [.contacts, .campaigns, .messages]
        case .viewer: [.verifications, .messages, .contacts, .campaigns]
        }
    }

    /// Viewers may look, never change.
    public var isReadOnly: Bool { self == .viewer }
}

/// API key scopes (API.md, "Conventions"). `admin` implies all others.
public enum Scope: String, Sendable, Codable, CaseIterable, Comparable {
    case verifications, messages, contacts, campaigns, admin

    public static func < (lhs: Scope, rhs: Scope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Who is making a request, however they authenticated.
public struct Principal: Sendable {
    public enum Kind: Sendable {
        case user(User)
        case apiKey(id: UUID, name: String)
    }

    public let kind: Kind
    public let scopes: Set<Scope>
    public let isReadOnly: Bool

    public init(kind: Kind, scopes: Set<Scope>, isReadOnly: Bool = false) {
        self.kind = kind
        self.scopes = scopes
        self.isReadOnly = isReadOnly
    }

    public static func user(_ user: User) -> Principal {
        Principal(kind: .user(user), scopes: user.role.scopes, isReadOnly: user.role.isReadOnly)
    }

    /// Whether this principal may use `scope`; `write` is true for unsafe methods.
    public func allows(_ scope: Scope, write: Bool) -> Bool {
        if write && isReadOnly { return false }
        return scopes.contains(.admin) || scopes.contains(scope)
    }

    /// The user behind a cookie session, if any.
    public var user: User? {
        if case .user(let user) = kind { return user }
        return nil
    }
}

extension Principal {
    /// The API key behind the request, if it came with one.
    public var apiKeyID: UUID? {
        if case .apiKey(let id, _) = kind { return id }
        return nil
    }

    /// A short label for logs and audit entries (never a secret).
    public var actorLabel: String {
        switch kind {
        case .user(let user): "user:\(user.id.uuidString.lowercased())"
        case .apiKey(let id, _): "api_key:\(id.uuidString.lowercased())"
        }
    }
}
