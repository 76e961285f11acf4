import Herald
import SMS
import HTTPTypes
import Hummingbird

/// The dashboard's session cookie. With an https public URL it is `__Host-herald_session`:
/// browsers accept that name only with `Secure`, `Path=/` and no `Domain`, so neither a plain
/// http page nor a sibling subdomain can plant or shadow it. Over plain http (development on
/// loopback) browsers would drop a `Secure` cookie, so it is `herald_session` without it.
struct SessionCookie: Sendable {
    static let plainName = "herald_session"
    static let hostName = "__Host-herald_session"

    let name: String
    let secure: Bool

    init(publicURL: String) {
        secure = publicURL.lowercased().hasPrefix("https://")
        name = secure ? Self.hostName : Self.plainName
    }

    /// The cookie carrying `token` for `maxAge` seconds (0 deletes it).
    func cookie(_ token: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: token, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }
}

/// Finds who is calling: an API key (`Authorization: Bearer hk_…`) or the dashboard's
/// session cookie. Routes then demand scopes with `context.require(_:write:)`.
///
/// A bad bearer key is refused at once (401): a client that sends credentials wants them
/// used. A cookie session must send `X-CSRF-Token` on every unsafe method (403 otherwise).
/// A session whose user must choose a new password may only do that, look at itself and sign
/// out (403 `password_change_required` for everything else).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    let identity: IdentityService
    let cookie: SessionCookie

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
        } else if let token = request.cookies[cookie.name]?.value,
            let session = try await identity.session(token: token)
        {
            if request.method.isUnsafe {
                let sent = request.headers[.csrfToken] ?? ""
                guard ConstantTime.equals(sent, session.csrfToken) else {
                    throw HeraldError(.csrfFailed, "missing or wrong X-CSRF-Token header")
                }
            }
            if session.user.passwordChangeRequired && !Self.allowedBeforePasswordChange(request.method, path) {
                throw HeraldError(.passwordChangeRequired, "choose a new password first (POST /auth/password)")
            }
            context.principal = .user(session.user)
            context.session = session
        }
        return try await next(request, context)
    }

    /// What a session that must change its password may still do.
    static func allowedBeforePasswordChange(_ method: HTTPRequest.Method, _ path: String) -> Bool {
        switch (method, path) {
        case (.post, "/auth/password"), (.get, "/auth/me"), (.head, "/auth/me"), (.post, "/auth/logout"): true
        default: false
        }
    }
}

extension HTTPRequest.Method {
    /// Methods that change state (RFC 9110 "unsafe").
    var isUnsafe: Bool { ![.get, .head, .options, .trace].contains(self) }
}
