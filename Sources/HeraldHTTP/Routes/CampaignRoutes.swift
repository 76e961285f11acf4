import Foundation
import Herald
import HTTPTypes
import Hummingbird
import SMS

/// `/v1/campaigns*` (scope `campaigns`).
struct CampaignRoutes {
    let campaigns: CampaignService
    let auditor: Auditor

    struct StatsBody: Encodable {
        let recipients, queued, sending, sent, delivered, undelivered, failed, skipped, excluded: Int

        init(_ s: CampaignService.Stats) {
            recipients = s.recipients; queued = s.queued; sending = s.sending; sent = s.sent; delivered = s.delivered
            undelivered = s.undelivered; failed = s.failed; skipped = s.skipped; excluded = s.excluded
        }
    }

    struct CampaignBody: Encodable {
        let campaign: Campaign
        let stats: StatsBody?

        enum CodingKeys: String, CodingKey {
            case id, name, status, sender, schedule, stats
            case templateID = "template_id", segmentID = "segment_id", throttlePerSecond = "throttle_per_second"
            case quietHours = "quiet_hours", frequencyCap = "frequency_cap", launchedAt = "launched_at"
            case completedAt = "completed_at", createdAt = "created_at", updatedAt = "updated_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(campaign.id.wire, forKey: .id)
            try c.encode(campaign.name, forKey: .name)
            try c.encode(campaign.status.rawValue, forKey: .status)
            try c.encode(campaign.templateID?.wire, forKey: .templateID)
            try c.encode(campaign.segmentID?.wire, forKey: .segmentID)
            try c.encode(campaign.sender, forKey: .sender)
            try c.encode(Self.schedule(campaign.schedule), forKey: .schedule)
            try c.encode(campaign.throttlePerSecond, forKey: .throttlePerSecond)
            switch campaign.quietHours {
            case .settings: try c.encode("settings", forKey: .quietHours)
            case .none: try c.encodeNil(forKey: .quietHours)
            case .custom(let q): try c.encode(["start": Self.hhmm(q.start), "end": Self.hhmm(q.end)], forKey: .quietHours)
            }
            switch campaign.frequencyCap {
            case .settings: try c.encode("settings", forKey: .frequencyCap)
            case .none: try c.encodeNil(forKey: .frequencyCap)
            case .custom(let f): try c.encode(["max": f.max, "window_hours": f.windowHours], forKey: .frequencyCap)
            }
            try c.encode(campaign.launchedAt, forKey: .launchedAt)
            try c.encode(campaign.completedAt, forKey: .completedAt)
            try c.encode(campaign.createdAt, forKey: .createdAt)
            try c.encode(campaign.updatedAt, forKey: .updatedAt)
            if let stats { try c.encode(stats, forKey: .stats) }
        }

        static func hhmm(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }

        static func schedule(_ schedule: Campaign.Schedule) -> [String: String]? {
            switch schedule {
            case .none: return nil
            case .at(let date): return ["send_at": ISO8601DateFormatter().string(from: date)]
            case .local(let wall, let zone):
                return ["local_time": String(format: "%04d-%02d-%02dT%02d:%02d:%02d", wall.year ?? 0, wall.month ?? 0, wall.day ?? 0,
                                             wall.hour ?? 0, wall.minute ?? 0, wall.second ?? 0),
                        "fallback_timezone": zone.identifier]
            }
        }
    }

    struct EstimateBody: Encodable {
        let recipients: Int
        let excluded: [String: Int]
        let segmentsTotal: Int
        let segmentsEstimated: Bool
        let frozen: Bool

        enum CodingKeys: String, CodingKey {
            case recipients, excluded, frozen
            case segmentsTotal = "segments_total", segmentsEstimated = "segments_estimated"
        }

        init(_ e: CampaignService.Estimate) {
            recipients = e.recipients
            excluded = Dictionary(uniqueKeysWithValues: e.excluded.map { ($0.key.rawValue, $0.value) })
            segmentsTotal = e.segmentsTotal
            segmentsEstimated = e.segmentsEstimated
            frozen = e.frozen
        }
    }

    struct RecipientBody: Encodable {
        let entry: CampaignStore.RecipientEntry

        enum CodingKeys: String, CodingKey {
            case phone, name, status, reason
            case contactID = "contact_id", sendAt = "send_at", messageID = "message_id", messageStatus = "message_status"
            case errorCode = "error_code", updatedAt = "updated_at"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(entry.contactID.wire, forKey: .contactID)
            try c.encode(entry.phone, forKey: .phone)
            try c.encode(entry.name, forKey: .name)
            try c.encode(entry.status, forKey: .status)
            try c.encode(entry.reason, forKey: .reason)
            try c.encode(entry.sendAt, forKey: .sendAt)
            try c.encode(entry.messageID?.wire, forKey: .messageID)
            try c.encode(entry.messageStatus, forKey: .messageStatus)
            try c.encode(entry.errorCode, forKey: .errorCode)
            try c.encode(entry.updatedAt, forKey: .updatedAt)
        }
    }

    struct RetryBody: Encodable {
        let campaign: CampaignBody
        let retried: Int
    }

    /// A campaign with its stats, as every single-campaign response shows it.
    func body(_ campaign: Campaign) async throws -> CampaignBody {
        CampaignBody(campaign: campaign, stats: StatsBody(try await campaigns.stats(id: campaign.id)))
    }

    /// The optional JSON body of `/schedule`: none at all is `{}`.
    static func optionalObject(_ request: Request, context: HeraldRequestContext) async throws -> [String: JSONValue] {
        let length = request.headers[.contentLength].flatMap { Int($0) }
        if request.headers[.contentType] == nil && (length ?? 0) == 0 { return [:] }
        let data = try await JSON.body(of: request, context: context)
        return data.isEmpty ? [:] : try JSON.decode([String: JSONValue].self, from: data)
    }

    static func target(_ campaign: Campaign) -> AuditTarget { AuditTarget("campaign", id: campaign.id, label: campaign.name) }

    func register(on router: RouteRegistrar) {
        router.get("/v1/campaigns") { request, context in
            try context.require(.campaigns, write: false)
            let (limit, cursor) = try request.listParameters()
            var status: CampaignStatus?
            if let raw = request.uri.queryParameters["status"].map(String.init) {
                guard let parsed = CampaignStatus(rawValue: raw) else {
                    throw HeraldError.validation("status", "must be one of \(CampaignStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                status = parsed
            }
            let page = try await campaigns.campaigns(status: status, limit: limit, cursor: cursor)
            var items: [CampaignBody] = []
            for campaign in page.items { items.append(try await body(campaign)) }
            return try JSON.response(ListResponse(data: items, nextCursor: page.nextCursor))
        }
        router.post("/v1/campaigns") { request, context in
            let principal = try context.require(.campaigns, write: true)
            let fields = try await JSON.decode([String: JSONValue].self, from: request, context: context)
            let campaign = try await campaigns.create(fields, actor: principal.actorLabel)
            let created = try await body(campaign)
            await auditor.record(request, context, "campaign.create", Self.target(campaign), after: created)
            return try JSON.response(created, status: .created)
        }
        router.get("/v1/campaigns/{id}") { _, context in
            try context.require(.campaigns, write: false)
            return try JSON.response(try await body(try await campaigns.campaign(id: try context.parameters.uuid("id", what: "campaign"))))
        }
        router.patch("/v1/campaigns/{id}") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "campaign")
            let fields = try await JSON.decode([String: JSONValue].self, from: request, context: context)
            let before = try await body(try await campaigns.campaign(id: id))
            let campaign = try await campaigns.update(id: id, fields)
            let after = try await body(campaign)
            await auditor.record(request, context, "campaign.update", Self.target(campaign), before: before, after: after)
            return try JSON.response(after)
        }
        router.delete("/v1/campaigns/{id}") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "campaign")
            let campaign = try await campaigns.campaign(id: id)
            let before = try await body(campaign)
            try await campaigns.delete(id: id)
            await auditor.record(request, context, "campaign.delete", Self.target(campaign), before: before)
            return Response(status: .noContent)
        }
        // Counts without changing anything: read access is enough.
        router.post("/v1/campaigns/{id}/estimate") { _, context in
            try context.require(.campaigns, write: false)
            return try JSON.response(EstimateBody(try await campaigns.estimate(id: try context.parameters.uuid("id", what: "campaign"))))
        }
        router.post("/v1/campaigns/{id}/schedule") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "campaign")
            let fields = try await Self.optionalObject(request, context: context)
            let before = try await body(try await campaigns.campaign(id: id))
            let campaign = try await campaigns.schedule(id: id, fields)
            let after = try await body(campaign)
            await auditor.record(request, context, "campaign.schedule", Self.target(campaign), before: before, after: after)
            return try JSON.response(after)
        }
        let actions: [(String, @Sendable (CampaignService, UUID) async throws -> Campaign)] = [
            ("send", { try await $0.send(id: $1) }), ("pause", { try await $0.pause(id: $1) }),
            ("resume", { try await $0.resume(id: $1) }), ("cancel", { try await $0.cancel(id: $1) }),
        ]
        for (name, action) in actions {
            router.post("/v1/campaigns/{id}/\(name)") { request, context in
                try context.require(.campaigns, write: true)
                let id = try context.parameters.uuid("id", what: "campaign")
                let before = try await body(try await campaigns.campaign(id: id))
                let campaign = try await action(campaigns, id)
                let after = try await body(campaign)
                await auditor.record(request, context, "campaign.\(name)", Self.target(campaign), before: before, after: after)
                return try JSON.response(after)
            }
        }
        router.post("/v1/campaigns/{id}/retry-failed") { request, context in
            try context.require(.campaigns, write: true)
            let (campaign, retried) = try await campaigns.retryFailed(id: try context.parameters.uuid("id", what: "campaign"))
            let answer = RetryBody(campaign: try await body(campaign), retried: retried)
            await auditor.record(request, context, "campaign.retry_failed", Self.target(campaign), after: answer)
            return try JSON.response(answer)
        }
        router.get("/v1/campaigns/{id}/recipients") { request, context in
            try context.require(.campaigns, write: false)
            let id = try context.parameters.uuid("id", what: "campaign")
            let (limit, cursor) = try request.listParameters()
            let status = request.uri.queryParameters["status"].map(String.init)
            let page = try await campaigns.recipients(id: id, status: status, limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(RecipientBody.init), nextCursor: page.nextCursor))
        }
    }
}
