import Foundation
import Herald
import Hummingbird
import SMS

/// Records a change in the audit log from a route, after it succeeded: who (the request's
/// principal), from where, and the object before and after as the API shows it (response
/// DTOs, which carry no secrets; ``AuditRedaction`` removes any that slip in).
struct Auditor: Sendable {
    let audit: AuditService
    let trustedProxies: TrustedProxies

    /// An API object as JSON, for `before` and `after`.
    static func snapshot(_ value: any Encodable) -> JSONValue? {
        guard let data = try? JSON.encoder.encode(value) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    func record(_ request: Request, _ context: HeraldRequestContext, _ action: String, _ target: AuditTarget,
                before: (any Encodable)? = nil, after: (any Encodable)? = nil) async {
        guard let principal = context.principal else { return }
        let clientIP = trustedProxies.isEmpty
            ? context.remoteAddress
            : trustedProxies.clientAddress(peer: context.remoteAddress, forwardedFor: request.headers[values: .xForwardedFor])
        let change = AuditChange(action, target, before: before.flatMap(Self.snapshot), after: after.flatMap(Self.snapshot))
        await audit.record(change, by: AuditActor(principal), clientIP: clientIP)
    }
}
