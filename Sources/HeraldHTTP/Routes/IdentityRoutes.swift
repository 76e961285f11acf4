import Foundation
import Herald
import HTTPTypes
import Hummingbird

/// Wire forms of identity objects.
struct UserBody: Encodable {
    let id: String
    let email: String
    let role: Role
    let disabled: Bool
    let passwordChangeRequired: Bool
    let createdAt: Date
    @Nullable var lastLoginAt: Date?
    /// Present only in the answer that created the user with a generated password.
    let password: String?

    enum CodingKeys: String, CodingKey {
        case id, email, role, disabled, passwordChangeRequired = "password_change_required"
        case createdAt = "created_at", lastLoginAt = "last_login_at", password
    }

    init(_ user: User, password: String? = nil) {
        id = user.id.wire
        email = user.email
        role = user.role
        disabled = user.disabled
        passwordChangeRequired = user.passwordChangeRequired
        createdAt = user.createdAt
        lastLoginAt = user.lastLoginAt
        self.password = password
    }
}

struct APIKeyBody: Encodable {
    let id: String
    let name: String
    let prefix: String
    let scopes: [Scope]
    let createdAt: Date
    @Nullable var lastUsedAt: Date?
    /// The secret, present only in the response that created it.
    let key: String?

    enum CodingKeys: String, CodingKey {
        case id, name, prefix, scopes, createdAt = "created_at", lastUsedAt = "last_used_at", key
    }

    init(key: APIKey, secret: String?) {
        id = key.id.wire
        name = key.name
        prefix = key.prefix
        scopes = key.scopes
        createdAt = key.createdAt
        lastUsedAt = key.lastUsedAt
        self.key = secret
    }
}

/// `/auth/*` (dashboard sessions and one's own password) and `/v1/api-keys`.
struct IdentityRoutes {
    let identity: IdentityService
    let cookie: SessionCookie
    /// Whose `X-Forwarded-For` to believe for the client address that logins are throttled by.
    let trustedProxies: TrustedProxies
    let auditor: Auditor

    struct LoginRequest: Decodable {
        let email: String
        let password: String
    }

    struct ChangePasswordRequest: Decodable {
        let currentPassword: String
        let newPassword: String
        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password"
            case newPassword = "new_password"
        }
    }

    struct SessionBody: Encodable {
        let user: UserBody
        let csrfToken: String
        let expiresAt: Date
        /// True until the user has chosen a password of their own; meanwhile the session may
        /// only change it (`POST /auth/password`), read `GET /auth/me` and sign out.
        let passwordChangeRequired: Bool

        enum CodingKeys: String, CodingKey {
            case user, csrfToken = "csrf_token", expiresAt = "expires_at", passwordChangeRequired = "password_change_required"
        }

        init(_ user: User, _ session: Session) {
            self.user = UserBody(user)
            csrfToken = session.csrfToken
            expiresAt = session.expiresAt
            passwordChangeRequired = user.passwordChangeRequired
        }
    }

    struct APIKeyPrincipalBody: Encodable {
        struct Key: Encodable { let id: String; let name: String }
        let apiKey: Key
        let scopes: [String]
        enum CodingKeys: String, CodingKey { case apiKey = "api_key", scopes }
    }

    struct CreateKeyRequest: Decodable {
        let name: String
        let scopes: [String]
    }

    /// Passwords longer than this are wrong without being hashed (bcrypt reads 72 bytes anyway).
    static let maxPasswordBytes = 1024

    /// The address logins are counted by: the TCP peer, or behind a trusted proxy the client it
    /// names in `X-Forwarded-For`.
    func clientAddress(_ request: Request, _ context: HeraldRequestContext) -> String {
        guard !trustedProxies.isEmpty else { return context.remoteAddress }
        return trustedProxies.clientAddress(peer: context.remoteAddress, forwardedFor: request.headers[values: .xForwardedFor])
    }

    func register(on router: RouteRegistrar) {
        router.post("/auth/login") { request, context in
            let body = try await JSON.decode(LoginRequest.self, from: request, context: context)
            guard body.email.utf8.count <= 254 else { throw HeraldError.validation("email", "must be an e-mail address") }
            guard body.password.utf8.count <= Self.maxPasswordBytes else { throw HeraldError(.invalidCredentials, "e-mail or password is wrong") }
            let started = try await identity.login(
                email: body.email, password: body.password, clientIP: clientAddress(request, context))
            var response = try JSON.response(SessionBody(started.session.user, started.session))
            response.setCookie(cookie.cookie(started.token, maxAge: Int(identity.limits.sessionLifetime.components.seconds)))
            return response
        }
        router.post("/auth/logout") { request, context in
            if context.session != nil, let token = request.cookies[cookie.name]?.value {
                try await identity.logout(token: token)
            }
            var response = Response(status: .noContent)
            response.setCookie(cookie.cookie("", maxAge: 0))
            return response
        }
        router.get("/auth/me") { _, context in
            let principal = try context.requirePrincipal()
            switch principal.kind {
            case .user(let user):
                guard let session = context.session else { throw HeraldError(.unauthorized, "no dashboard session") }
                return try JSON.response(SessionBody(user, session))
            case .apiKey(let id, let name):
                return try JSON.response(
                    APIKeyPrincipalBody(apiKey: .init(id: id.uuidString.lowercased(), name: name),
                                        scopes: principal.scopes.sorted().map(\.rawValue)))
            }
        }
        router.post("/auth/password") { request, context in
            let principal = try context.requirePrincipal()
            guard let user = principal.user, let session = context.session else {
                throw HeraldError(.forbidden, "only a dashboard session changes its own password; API keys have none")
            }
            let body = try await JSON.decode(ChangePasswordRequest.self, from: request, context: context)
            guard body.currentPassword.utf8.count <= Self.maxPasswordBytes else {
                throw HeraldError(.invalidCurrentPassword, "is not your current password", field: "current_password")
            }
            let changed = try await identity.changePassword(
                userID: user.id, currentPassword: body.currentPassword, newPassword: body.newPassword,
                keepingSession: request.cookies[cookie.name]?.value, clientIP: clientAddress(request, context))
            await auditor.record(request, context, "user.password_change", UserRoutes.target(user))
            return try JSON.response(SessionBody(changed, session))
        }

        router.get("/v1/api-keys") { request, context in
            try context.require(.admin, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await identity.apiKeys(limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map { APIKeyBody(key: $0, secret: nil) }, nextCursor: page.nextCursor))
        }
        router.post("/v1/api-keys") { request, context in
            let principal = try context.require(.admin, write: true)
            let body = try await JSON.decode(CreateKeyRequest.self, from: request, context: context)
            let created = try await identity.createAPIKey(name: body.name, scopes: body.scopes, createdBy: principal.user?.id)
            await auditor.record(request, context, "api_key.create", AuditTarget("api_key", id: created.key.id, label: created.key.name),
                                 after: APIKeyBody(key: created.key, secret: nil))
            return try JSON.response(APIKeyBody(key: created.key, secret: created.secret), status: .created)
        }
        router.delete("/v1/api-keys/{id}") { request, context in
            try context.require(.admin, write: true)
            let id = try context.parameters.uuid("id", what: "API key")
            let key = try await identity.revokeAPIKey(id: id)
            await auditor.record(request, context, "api_key.revoke", AuditTarget("api_key", id: id, label: key.name),
                                 before: APIKeyBody(key: key, secret: nil))
            return Response(status: .noContent)
        }
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
