import Foundation
import Herald
import Hummingbird

/// Wire forms of identity objects.
struct UserBody: Encodable {
    let id: UUID
    let email: String
    let role: String
    let disabled: Bool
    let createdAt: Date
    let lastLoginAt: Date?
    init(_ user: User) {
        id = user.id; email = user.email; role = user.role.rawValue; disabled = user.disabled
        createdAt = user.createdAt; lastLoginAt = user.lastLoginAt
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id.uuidString.lowercased(), forKey: .id)
        try c.encode(email, forKey: .email)
        try c.encode(role, forKey: .role)
        try c.encode(disabled, forKey: .disabled)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(lastLoginAt, forKey: .lastLoginAt)
    }
    enum CodingKeys: String, CodingKey { case id, email, role, disabled, createdAt = "created_at", lastLoginAt = "last_login_at" }
}

struct APIKeyBody: Encodable {
    let key: APIKey
    /// The secret, present only in the response that created it.
    let secret: String?
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key.id.uuidString.lowercased(), forKey: .id)
        try c.encode(key.name, forKey: .name)
        try c.encode(key.prefix, forKey: .prefix)
        try c.encode(key.scopes.map(\.rawValue), forKey: .scopes)
        try c.encode(key.createdAt, forKey: .createdAt)
        try c.encode(key.lastUsedAt, forKey: .lastUsedAt)
        if let secret { try c.encode(secret, forKey: .key) }
    }
    enum CodingKeys: String, CodingKey { case id, name, prefix, scopes, createdAt = "created_at", lastUsedAt = "last_used_at", key }
}

/// `/auth/*`, `/v1/users`, `/v1/api-keys`.
struct IdentityRoutes {
    let identity: IdentityService
    /// Whether the session cookie gets `Secure` (the public URL is https).
    let secureCookies: Bool

    struct LoginRequest: Decodable {
        let email: String
        let password: String
    }

    struct SessionBody: Encodable {
        let user: UserBody
        let csrfToken: String
        let expiresAt: Date
        enum CodingKeys: String, CodingKey { case user, csrfToken = "csrf_token", expiresAt = "expires_at" }
    }

    struct APIKeyPrincipalBody: Encodable {
        struct Key: Encodable { let id: String; let name: String }
        let apiKey: Key
        let scopes: [String]
        enum CodingKeys: String, CodingKey { case apiKey = "api_key", scopes }
    }

    struct CreateUserRequest: Decodable {
        let email: String
        let role: String
        let password: String?
    }

    struct CreatedUserBody: Encodable {
        let user: UserBody
        /// Present only when Herald generated the password.
        let password: String?
        func encode(to encoder: any Encoder) throws {
            try user.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            if let password { try c.encode(password, forKey: .password) }
        }
        enum CodingKeys: String, CodingKey { case password }
    }

    struct CreateKeyRequest: Decodable {
        let name: String
        let scopes: [String]
    }

    func register(on router: RouteRegistrar) {
        router.post("/auth/login") { request, context in
            let body = try await JSON.decode(LoginRequest.self, from: request, context: context)
            guard body.email.utf8.count <= 254 else { throw HeraldError.validation("email", "must be an e-mail address") }
            guard body.password.utf8.count <= 1024 else { throw HeraldError(.invalidCredentials, "e-mail or password is wrong") }
            let started = try await identity.login(email: body.email, password: body.password, clientIP: context.remoteAddress)
            var response = try JSON.response(
                SessionBody(user: UserBody(started.session.user), csrfToken: started.session.csrfToken, expiresAt: started.session.expiresAt))
            let lifetime = Int(identity.limits.sessionLifetime.components.seconds)
            response.setCookie(
                Cookie(name: AuthenticationMiddleware.cookieName, value: started.token, maxAge: lifetime, path: "/",
                       secure: secureCookies, httpOnly: true, sameSite: .strict))
            return response
        }
        router.post("/auth/logout") { request, context in
            if context.session != nil, let token = request.cookies[AuthenticationMiddleware.cookieName]?.value {
                try await identity.logout(token: token)
            }
            var response = Response(status: .noContent)
            response.setCookie(
                Cookie(name: AuthenticationMiddleware.cookieName, value: "", maxAge: 0, path: "/",
                       secure: secureCookies, httpOnly: true, sameSite: .strict))
            return response
        }
        router.get("/auth/me") { _, context in
            let principal = try context.requirePrincipal()
            switch principal.kind {
            case .user(let user):
                guard let session = context.session else { throw HeraldError(.unauthorized, "no dashboard session") }
                return try JSON.response(SessionBody(user: UserBody(user), csrfToken: session.csrfToken, expiresAt: session.expiresAt))
            case .apiKey(let id, let name):
                return try JSON.response(
                    APIKeyPrincipalBody(apiKey: .init(id: id.uuidString.lowercased(), name: name),
                                        scopes: principal.scopes.sorted().map(\.rawValue)))
            }
        }

        router.get("/v1/users") { request, context in
            try context.require(.admin, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await identity.users(limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(UserBody.init), nextCursor: page.nextCursor))
        }
        router.post("/v1/users") { request, context in
            try context.require(.admin, write: true)
            let body = try await JSON.decode(CreateUserRequest.self, from: request, context: context)
            let role = try IdentityValidation.role(body.role)
            let password = body.password ?? Tokens.password()
            let user = try await identity.createUser(email: body.email, role: role, password: password)
            return try JSON.response(
                CreatedUserBody(user: UserBody(user), password: body.password == nil ? password : nil), status: .created)
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
            return try JSON.response(APIKeyBody(key: created.key, secret: created.secret), status: .created)
        }
        router.delete("/v1/api-keys/{id}") { _, context in
            try context.require(.admin, write: true)
            try await identity.revokeAPIKey(id: try context.parameters.uuid("id", what: "API key"))
            return Response(status: .noContent)
        }
    }

}
