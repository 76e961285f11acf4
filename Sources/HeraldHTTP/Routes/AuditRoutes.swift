import Foundation
import Herald
import Hummingbird
import SMS

/// `GET /v1/audit` (scope admin): who changed what and when, newest first.
struct AuditRoutes {
    let audit: AuditService

    struct EntryBody: Encodable {
        struct Actor: Encodable {
            let type: String
            let id: String
            let label: String
        }

        struct Target: Encodable {
            let type: String
            @Nullable var id: String?
            @Nullable var label: String?
        }

        let id: String
        let createdAt: Date
        let actor: Actor
        let action: String
        let target: Target
        @Nullable var before: JSONValue?
        @Nullable var after: JSONValue?
        @Nullable var ip: String?

        enum CodingKeys: String, CodingKey { case id, createdAt = "created_at", actor, action, target, before, after, ip }

        init(_ entry: AuditEntry) {
            id = entry.id.wire
            createdAt = entry.createdAt
            actor = Actor(type: entry.actor.kind.rawValue, id: entry.actor.id.wire, label: entry.actor.label)
            action = entry.action
            target = Target(type: entry.target.type, id: entry.target.id, label: entry.target.label)
            before = entry.before
            after = entry.after
            ip = entry.clientIP
        }
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/audit") { request, context in
            try context.require(.admin, write: false)
            let (limit, cursor) = try request.listParameters()
            let query = request.uri.queryParameters
            let text = { (name: String) in query[name[...]].map(String.init) }
            let filter = try AuditFilter(actor: text("actor"), action: text("action"), targetType: text("target_type"),
                                         targetID: text("target_id"), after: text("after"), before: text("before"))
            let page = try await audit.entries(filter, limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(EntryBody.init), nextCursor: page.nextCursor))
        }
    }
}
