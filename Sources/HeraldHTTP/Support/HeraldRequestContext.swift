import Herald
import Hummingbird
import NIOCore

/// Per-request state: Hummingbird's core context, who is asking, and where from.
public struct HeraldRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by ``AuthenticationMiddleware`` when the request carries valid credentials.
    public var principal: Principal?
    /// The dashboard session behind the principal, when it came from the cookie.
    public var session: Session?
    /// The peer address (no proxy headers are trusted).
    public let remoteAddress: String

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// JSON bodies larger than this are refused with 413 `payload_too_large`.
    public var maxUploadSize: Int { 1 << 20 }

    /// The principal, or 401 when the request is anonymous.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw HeraldError(.unauthorized, "authentication required: send an API key or log in") }
        return principal
    }

    /// The principal if it may use `scope`; 401 when anonymous, 403 when not allowed.
    @discardableResult
    public func require(_ scope: Scope, write: Bool) throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.allows(scope, write: write) else {
            throw HeraldError(.forbidden, "these credentials lack the '\(scope.rawValue)' scope\(write ? " for changes" : "")")
        }
        return principal
    }
}
