import Foundation
import Herald
import HTTPTypes
import Hummingbird
import SMS

/// `/v1/segments*` (scope `campaigns`).
struct SegmentRoutes {
    let segments: SegmentService
    let auditor: Auditor

    struct SegmentBody: Encodable {
        let id: String
        let name: String
        let rule: JSONValue
        let count: Int
        let subscribed: Int
        let createdAt: Date
        let updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, name, rule, count, subscribed
            case createdAt = "created_at", updatedAt = "updated_at"
        }

        init(_ counted: SegmentService.Counted) {
            id = counted.segment.id.wire
            name = counted.segment.name
            rule = counted.segment.rule.json
            count = counted.count
            subscribed = counted.subscribed
            createdAt = counted.segment.createdAt
            updatedAt = counted.segment.updatedAt
        }
    }

    struct PreviewBody: Encodable {
        let count: Int
        let subscribed: Int
        let sample: [ContactRoutes.ContactBody]
    }

    struct CreateRequest: Decodable {
        let name: String
        let rule: JSONValue?
    }

    struct PatchRequest: Decodable {
        let name: String?
        let rule: JSONValue?
    }

    struct PreviewRequest: Decodable {
        let rule: JSONValue?
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/segments") { request, context in
            try context.require(.campaigns, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await segments.segments(limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(SegmentBody.init), nextCursor: page.nextCursor))
        }
        router.post("/v1/segments") { request, context in
            try context.require(.campaigns, write: true)
            let body = try await JSON.decode(CreateRequest.self, from: request, context: context)
            let segment = SegmentBody(try await segments.create(name: body.name, rule: body.rule))
            await auditor.record(request, context, "segment.create", AuditTarget("segment", id: segment.id, label: segment.name), after: segment)
            return try JSON.response(segment, status: .created)
        }
        // Counts without saving: read access is enough.
        router.post("/v1/segments/preview") { request, context in
            try context.require(.campaigns, write: false)
            let body = try await JSON.decode(PreviewRequest.self, from: request, context: context)
            let preview = try await segments.preview(rule: body.rule)
            return try JSON.response(PreviewBody(count: preview.count, subscribed: preview.subscribed,
                                                 sample: preview.sample.map(ContactRoutes.ContactBody.init)))
        }
        router.get("/v1/segments/{id}") { _, context in
            try context.require(.campaigns, write: false)
            return try JSON.response(SegmentBody(try await segments.counted(id: try context.parameters.uuid("id", what: "segment"))))
        }
        router.patch("/v1/segments/{id}") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "segment")
            let body = try await JSON.decode(PatchRequest.self, from: request, context: context)
            let before = SegmentBody(try await segments.counted(id: id))
            let segment = SegmentBody(try await segments.update(id: id, name: body.name, rule: body.rule))
            await auditor.record(request, context, "segment.update", AuditTarget("segment", id: segment.id, label: segment.name),
                                 before: before, after: segment)
            return try JSON.response(segment)
        }
        router.delete("/v1/segments/{id}") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "segment")
            let before = SegmentBody(try await segments.counted(id: id))
            try await segments.delete(id: id)
            await auditor.record(request, context, "segment.delete", AuditTarget("segment", id: before.id, label: before.name), before: before)
            return Response(status: .noContent)
        }
    }
}
