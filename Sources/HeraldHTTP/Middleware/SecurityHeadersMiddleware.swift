import HTTPTypes
import Hummingbird

/// Headers every response carries. The dashboard renders user data with `textContent`
/// only, and the CSP keeps scripts to Herald's own files.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    /// Whether the public URL is https: browsers then keep to https for a year (HSTS).
    var strictTransportSecurity = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        if strictTransportSecurity { response.headers[.strictTransportSecurity] = "max-age=31536000" }
        let path = request.uri.path
        if path.hasPrefix("/v1/") || path.hasPrefix("/auth/") {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
