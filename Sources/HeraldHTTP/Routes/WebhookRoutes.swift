import Foundation
import SMS
import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import Providers

/// `POST /webhooks/{provider_id}/status` and `/inbound`: provider callbacks in each
/// provider's own format. No API key: the provider's signature (or the secret token in the
/// callback URL) is the authentication, checked before anything changes.
struct WebhookRoutes {
    let webhooks: WebhookService
    let publicURL: String
    static let maximumBody = 256 * 1024

    func register(on router: RouteRegistrar) {
        for kind in [WebhookService.Kind.status, .inbound] {
            let handler: @Sendable (Request, HeraldRequestContext) async throws -> Response = { request, context in
                guard let raw = context.parameters.get("provider"), let providerID = UUID(uuidString: raw) else {
                    throw HeraldError(.notFound, "no provider with this id takes webhooks")
                }
                let body: ByteBuffer
                do { body = try await request.body.collect(upTo: Self.maximumBody) }
                catch is NIOTooManyBytesError { throw APIError.payloadTooLarge(limit: Self.maximumBody) }
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                // The URL exactly as the provider called it: HERALD_PUBLIC_URL + path + query.
                let webhook = WebhookRequest(method: request.method.rawValue, url: publicURL + request.uri.string,
                                             headers: headers, body: Array(body.readableBytesView))
                let query = (try? FormEncoding.decode(request.uri.query ?? "")) ?? []
                let reply = switch kind {
                case .status: try await webhooks.status(providerID: providerID, request: webhook, query: query)
                case .inbound: try await webhooks.inbound(providerID: providerID, request: webhook, query: query)
                }
                var fields = HTTPFields()
                if let contentType = reply.contentType { fields[.contentType] = contentType }
                return Response(status: .init(code: reply.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
            }
            // Vonage can deliver receipts and inbound messages as GET with a query string.
            router.post("/webhooks/{provider}/\(kind.rawValue)", use: handler)
            router.get("/webhooks/{provider}/\(kind.rawValue)", use: handler)
        }
    }
}
