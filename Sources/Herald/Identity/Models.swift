import Foundation

public struct User: Sendable, Equatable, Codable {
    public let id: UUID
    public let email: String
    public let role: Role
    public let disabled: Bool
    public let createdAt: Date
    public let lastLoginAt: Date?
    /// Until this user picks a password of their own, their session may only change it,
    /// look at itself and sign out (the generated first admin; after a reset by the CLI).
    public let passwordChangeRequired: Bool

    public init(id: UUID, email: String, role: Role, disabled: Bool, createdAt: Date, lastLoginAt: Date?,
                passwordChangeRequired: Bool = false) {
        self.id = id
        self.email = email
        self.role = role
        self.disabled = disabled
        self.createdAt = createdAt
        self.lastLoginAt = lastLoginAt
        self.passwordChangeRequired = passwordChangeRequired
    }
}

public struct APIKey: Sendable, Equatable, Codable {
    public let id: UUID
    public let name: String
    /// The first characters of the key, enough to recognise it in a list.
    public let prefix: String
    public let scopes: [Scope]
    public let createdAt: Date
    public let lastUsedAt: Date?
    public let revokedAt: Date?
}

/// A freshly created API key: the only time the secret exists outside the caller.
public struct CreatedAPIKey: Sendable {
    public let key: APIKey
    public let secret: String
}

/// A dashboard session as the HTTP layer needs it.
public struct Session: Sendable {
    public let user: User
    public let csrfToken: String
    public let expiresAt: Date
}

/// A started session: the cookie token exists only here and in the browser.
public struct StartedSession: Sendable {
    public let token: String
    public let session: Session
}

/// One page of a list, with the opaque cursor of the next page.
public struct Page<Item: Sendable>: Sendable {
    public let items: [Item]
    public let nextCursor: String?
}
