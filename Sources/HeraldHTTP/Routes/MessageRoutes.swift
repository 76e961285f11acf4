import Foundation
import SMS
import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import Providers

/// A message on the wire (API.md, "Messages").
struct MessageBody: Encodable {
    struct ErrorBody: Encodable {
        let code: String
        let message: String
        @Nullable var providerCode: String?
        enum CodingKeys: String, CodingKey { case code, message, providerCode = "provider_code" }
    }

    let id: String
    let to: String
    @Nullable var from: String?
    let body: String
    let channel: MessageChannel
    let kind: MessageKind
    let status: MessageStatus
    @Nullable var provider: String?
    @Nullable var providerMessageID: String?
    let attempts: Int
    @Nullable var error: ErrorBody?
    @Nullable var campaignID: String?
    @Nullable var templateID: String?
    let encoding: SMSEncoding
    let segments: Int
    let characters: Int
    @Nullable var locale: String?
    let scheduledAt: Date
    let createdAt: Date
    @Nullable var sentAt: Date?
    @Nullable var deliveredAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, to, from, body, channel, kind, status, provider, providerMessageID = "provider_message_id", attempts, error
        case campaignID = "campaign_id", templateID = "template_id", encoding, segments, characters, locale
        case scheduledAt = "scheduled_at", createdAt = "created_at", sentAt = "sent_at", deliveredAt = "delivered_at"
    }

    init(_ m: Message) {
        id = m.id.wire
        to = m.to
        from = m.from
        body = m.body
        channel = m.channel
        kind = m.kind
        status = m.status
        provider = m.provider
        providerMessageID = m.providerMessageID
        attempts = m.attempts
        error = m.error.map { ErrorBody(code: $0.code, message: $0.message, providerCode: $0.providerCode) }
        campaignID = m.campaignID?.wire
        templateID = m.templateID?.wire
        encoding = m.encoding
        segments = m.segments
        characters = m.characters
        locale = m.locale
        scheduledAt = m.scheduledAt
        createdAt = m.createdAt
        sentAt = m.sentAt
        deliveredAt = m.deliveredAt
    }
}

/// `/v1/messages`.
struct MessageRoutes {
    let messages: MessageService

    struct SendRequest: Decodable {
        let to: String?
        let country: String?
        let from: String?
        let body: String?
        let template: String?
        let variables: [String: JSONValue]?
        let locale: String?
        let channel: String?
        let kind: String?

        var domain: SendMessageRequest {
            SendMessageRequest(to: to, country: country, from: from, body: body, template: template, variables: variables,
                               locale: locale, channel: channel, kind: kind)
        }
    }

    func register(on router: RouteRegistrar) {
        router.post("/v1/messages") { request, context in
            let principal = try context.require(.messages, write: true)
            let apiKeyID = principal.apiKeyID
            guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else {
                let body = try await JSON.decode(SendRequest.self, from: request, context: context)
                let message = try await messages.send(body.domain, apiKeyID: apiKeyID)
                return try JSON.response(MessageBody(message), status: .accepted)
            }
            let raw = try await JSON.body(of: request, context: context)
            let body = try JSON.decode(SendRequest.self, from: raw)
            // "The same body" means the same JSON, whatever the key order or spacing.
            let canonical = try JSON.encoder.encode(try JSON.decode(JSONValue.self, from: raw))
            let message = try await messages.send(body.domain, apiKeyID: apiKeyID, idempotencyKey: key,
                                                  canonicalRequest: Array(canonical))
            return try JSON.response(MessageBody(message), status: .accepted)
        }
        router.get("/v1/messages/{id}") { request, context in
            try context.require(.messages, write: false)
            let id = try context.parameters.uuid("id", what: "message")
            return try JSON.response(MessageBody(try await messages.message(id: id)))
        }
        router.get("/v1/messages") { request, context in
            try context.require(.messages, write: false)
            let (limit, cursor) = try request.listParameters()
            let query = request.uri.queryParameters
            var filter = MessageFilter()
            if let raw = query["campaign_id"].map(String.init) {
                guard let id = UUID(uuidString: raw) else { throw HeraldError.validation("campaign_id", "must be a campaign id") }
                filter.campaignID = id
            }
            if let raw = query["status"].map(String.init) {
                guard let status = MessageStatus(rawValue: raw) else {
                    throw HeraldError.validation("status", "must be one of \(MessageStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.status = status
            }
            if let raw = query["to"].map(String.init) {
                filter.to = try PhoneNumberInput(raw, country: query["country"].map(String.init)).parse(field: "to").e164
            }
            let page = try await messages.messages(filter, limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(MessageBody.init), nextCursor: page.nextCursor))
        }
    }
}
