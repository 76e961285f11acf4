import Foundation
import Herald
import Hummingbird
import SMS

/// `GET /v1/outbox` (scope admin): what the outbox provider "sent".
struct OutboxRoutes {
    let messages: MessageService

    struct Entry: Encodable {
        let id: String
        let messageID: String
        let to: String
        let body: String
        let channel: MessageChannel
        let createdAt: Date

        enum CodingKeys: String, CodingKey {
            case id, messageID = "message_id", to, body, channel, createdAt = "created_at"
        }

        init(_ entry: OutboxEntry) {
            id = entry.id.wire
            messageID = entry.messageID.wire
            to = entry.to
            body = entry.body
            channel = entry.channel
            createdAt = entry.createdAt
        }
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/outbox") { request, context in
            try context.require(.admin, write: false)
            let (limit, cursor) = try request.listParameters()
            let query = request.uri.queryParameters
            let to = try query["to"].map { try PhoneNumberInput(String($0), country: query["country"].map(String.init)).parse(field: "to").e164 }
            let page = try await messages.outbox(to: to, limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(Entry.init), nextCursor: page.nextCursor))
        }
    }
}
