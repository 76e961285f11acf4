import Herald
import SMS
import HTTPTypes
import Hummingbird

/// Finds who is calling: an API key (`Authorization: Bearer hk_…`) or the dashboard's
/// session cookie. Routes then demand scopes with `context.require(_:write:)`.
///
/// A bad bearer key is refused at once (401): a client that sends credentials wants them
/// used. A cookie session must send `X-CSRF-Token` on every unsafe method (403 otherwise).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    static let cookieName = "herald_session"
    let identity: IdentityService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        // Logging in uses no session: a stale cookie must not block it.
        guard path.hasPrefix("/v1/") || (path.hasPrefix("/auth/") && path != "/auth/login") else {
            return try await next(request, context)
        }
        var context = context
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer",
                let principal = try await identity.authenticate(apiKey: String(parts[1]).trimmingCharacters(in: .whitespaces))
            else {
                throw HeraldError(.unauthorized, "the API key is not valid or has been revoked")
            }
            context.principal = principal
        } else if let token = request.cookies[Self.cookieName]?.value,
            let session = try await identity.session(token: token)
        {
            if request.method.isUnsafe {
                let sent = request.headers[.csrfToken] ?? ""
                guard ConstantTime.equals(sent, session.csrfToken) else {
                    throw HeraldError(.csrfFailed, "missing or wrong X-CSRF-Token header")
                }
            }
            context.principal = .user(session.user)
            context.session = session
        }
        return try await next(request, context)
    }
}

extension HTTPRequest.Method {
    /// Methods that change state (RFC 9110 "unsafe").
    var isUnsafe: Bool { ![.get, .head, .options, .trace].contains(self) }
}
