import Foundation
import SMS
import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import Providers

/// A message on the wire (API.md, "Messages").
struct MessageBody: Encodable {
    let message: Message

    enum CodingKeys: String, CodingKey {
        case id, to, from, body, channel, kind, status, provider, providerMessageID = "provider_message_id", attempts, error
        case campaignID = "campaign_id", templateID = "template_id", encoding, segments, characters, locale
        case scheduledAt = "scheduled_at", createdAt = "created_at", sentAt = "sent_at", deliveredAt = "delivered_at"
    }

    struct ErrorBody: Encodable {
        let code: String
        let message: String
        let providerCode: String?
        enum CodingKeys: String, CodingKey { case code, message, providerCode = "provider_code" }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(code, forKey: .code)
            try c.encode(message, forKey: .message)
            try c.encode(providerCode, forKey: .providerCode)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let m = message
        try c.encode(m.id.uuidString.lowercased(), forKey: .id)
        try c.encode(m.to, forKey: .to)
        try c.encode(m.from, forKey: .from)
        try c.encode(m.body, forKey: .body)
        try c.encode(m.channel.rawValue, forKey: .channel)
        try c.encode(m.kind.rawValue, forKey: .kind)
        try c.encode(m.status.rawValue, forKey: .status)
        try c.encode(m.provider, forKey: .provider)
        try c.encode(m.providerMessageID, forKey: .providerMessageID)
        try c.encode(m.attempts, forKey: .attempts)
        try c.encode(m.error.map { ErrorBody(code: $0.code, message: $0.message, providerCode: $0.providerCode) }, forKey: .error)
        try c.encode(m.campaignID?.uuidString.lowercased(), forKey: .campaignID)
        try c.encode(m.templateID?.uuidString.lowercased(), forKey: .templateID)
        try c.encode(m.encoding.rawValue, forKey: .encoding)
        try c.encode(m.segments, forKey: .segments)
        try c.encode(m.characters, forKey: .characters)
        try c.encode(m.locale, forKey: .locale)
        try c.encode(m.scheduledAt, forKey: .scheduledAt)
        try c.encode(m.createdAt, forKey: .createdAt)
        try c.encode(m.sentAt, forKey: .sentAt)
        try c.encode(m.deliveredAt, forKey: .deliveredAt)
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
                return try JSON.response(MessageBody(message: message), status: .accepted)
            }
            let bytes: ByteBuffer
            do { bytes = try await request.body.collect(upTo: context.maxUploadSize) }
            catch is NIOTooManyBytesError { throw APIError.payloadTooLarge(limit: context.maxUploadSize) }
            if let contentType = request.headers[.contentType]?.lowercased(), !contentType.hasPrefix("application/json") {
                throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
            }
            let raw = Data(bytes.readableBytesView)
            let body = try JSON.decode(SendRequest.self, from: raw)
            // "The same body" means the same JSON, whatever the key order or spacing.
            let canonical = try PlainJSON.encoder.encode(try JSON.decode(JSONValue.self, from: raw))
            let (status, data) = try await messages.send(
                body.domain, apiKeyID: apiKeyID, idempotencyKey: key, requestBody: Array(canonical),
                encode: { try JSON.encoder.encode(MessageBody(message: $0)) })
            return Response(status: .init(code: status), headers: [.contentType: "application/json; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        router.get("/v1/messages/{id}") { request, context in
            try context.require(.messages, write: false)
            let id = try context.parameters.uuid("id", what: "message")
            return try JSON.response(MessageBody(message: try await messages.message(id: id)))
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
            return try JSON.response(ListResponse(data: page.items.map { MessageBody(message: $0) }, nextCursor: page.nextCursor))
        }
    }
}
