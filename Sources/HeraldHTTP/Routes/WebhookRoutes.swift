import Foundation
import SMS
import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import Postgres
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

/// `GET /v1/outbox` (scope admin): what the outbox provider "sent".
struct OutboxRoutes {
    let pool: PostgresPool

    struct Entry: Encodable {
        let id: String
        let messageId: String
        let to: String
        let body: String
        let channel: String
        let createdAt: Date
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/outbox") { request, context in
            try context.require(.admin, write: false)
            let (limit, cursor) = try request.listParameters()
            let query = request.uri.queryParameters
            let to = try query["to"].map { try PhoneNumberInput(String($0), country: query["country"].map(String.init)).parse(field: "to").e164 }
            let page = try await OutboxStore(pool: pool).entries(to: to, limit: limit, after: cursor)
            return try JSON.response(ListResponse(
                data: page.items.map { Entry(id: $0.id.uuidString.lowercased(), messageId: $0.messageID.uuidString.lowercased(), to: $0.to,
                                             body: $0.body, channel: $0.channel, createdAt: $0.createdAt) },
                nextCursor: page.nextCursor))
        }
    }
}

/// `GET|PATCH /v1/settings` (scope admin).
struct SettingsRoutes {
    let settings: SettingsService
    let eventsSigningSecret: String

    struct Document: Encodable {
        let values: [String: JSONValue]
        let secret: String
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            for (key, value) in values { try c.encode(value, forKey: Key(stringValue: key)) }
            try c.encode(secret, forKey: Key(stringValue: "events_signing_secret"))
        }
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/settings") { _, context in
            try context.require(.admin, write: false)
            return try PlainJSON.response(Document(values: try await settings.current().json, secret: eventsSigningSecret))
        }
        router.patch("/v1/settings") { request, context in
            let principal = try context.require(.admin, write: true)
            let patch = try await JSON.decode([String: JSONValue].self, from: request, context: context)
            var changes = patch
            // Shown for convenience; not a setting one can change.
            changes["events_signing_secret"] = nil
            let updated = try await settings.update(changes, actor: principal.actorLabel)
            return try PlainJSON.response(Document(values: updated.json, secret: eventsSigningSecret))
        }
    }
}
