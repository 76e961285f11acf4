import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Herald

/// `/v1/campaigns*` over HTTP: shapes, errors with their fields, states and what they allow.
@Suite(.serialized) struct CampaignHTTPTests {
    @Test("the lifecycle through the API: draft → estimate → schedule → pause refused → cancel; bad input named; a used template kept")
    func lifecycle() async throws {
        try await TestHerald.with { herald in
            try await CampaignTests.seed(herald, count: 5)
            let template = try await CampaignTests.template(herald)
            let segment = try await CampaignTests.segment(herald)
            let auth = try await herald.bearer(["campaigns"])
            let contactsOnly = try await herald.bearer(["contacts"])
            try await herald.test { client in
                func call(_ method: HTTPRequest.Method, _ uri: String, _ body: Any? = nil, headers: HTTPFields? = nil) async throws -> TestResponse {
                    try await client.execute(uri: uri, method: method, headers: headers ?? auth, body: body.map(jsonBody))
                }
                // Bad input: each error names its field; nothing is created.
                let bad: [([String: Any], String, String)] = [
                    (["template_id": template.id.uuidString], "validation_failed", "name"),
                    (["name": "x", "template_id": UUID().uuidString], "template_not_found", "template_id"),
                    (["name": "x", "template_id": template.id.uuidString, "segment_id": UUID().uuidString], "validation_failed", "segment_id"),
                    (["name": "x", "template_id": template.id.uuidString, "schedule": ["send_at": "soon"]], "validation_failed", "schedule.send_at"),
                    (["name": "x", "template_id": template.id.uuidString, "quiet_hours": ["start": "21:00"]], "validation_failed", "quiet_hours.end"),
                    (["name": "x\u{0}", "template_id": template.id.uuidString], "validation_failed", "name"),
                ]
                for (body, code, field) in bad {
                    let response = try await call(.post, "/v1/campaigns", body)
                    #expect(response.status == .badRequest && response.errorCode == code && response.errorField == field, "\(body)")
                }
                #expect(try await call(.post, "/v1/campaigns", ["name": "x", "template_id": template.id.uuidString], headers: contactsOnly).status == .forbidden)
                #expect(try await herald.pool.query("SELECT 1 FROM campaigns").isEmpty)

                let created = try await call(.post, "/v1/campaigns", [
                    "name": "December sale", "template_id": template.id.uuidString, "segment_id": segment.uuidString, "sender": "ACME",
                    "throttle_per_second": 50, "frequency_cap": ["max": 3, "window_hours": 168],
                ])
                #expect(created.status == .created)
                #expect(created.json["status"] as? String == "draft")
                #expect(created.json["quiet_hours"] as? String == "settings")
                #expect((created.json["frequency_cap"] as? [String: Any])?["max"] as? Int == 3)
                #expect(created.json["schedule"] is NSNull)
                #expect((created.json["stats"] as? [String: Any])?["recipients"] as? Int == 0)
                let id = try #require(created.json["id"] as? String)

                let estimate = try await call(.post, "/v1/campaigns/\(id)/estimate")
                #expect(estimate.status == .ok)
                #expect(estimate.json["recipients"] as? Int == 5)
                #expect((estimate.json["excluded"] as? [String: Int]) == ["unsubscribed": 0, "invalid_number": 0, "not_mobile": 0, "frequency_capped": 0])
                #expect(estimate.json["segments_total"] as? Int == 5)

                // Scheduling needs a time, in the future.
                let noTime = try await call(.post, "/v1/campaigns/\(id)/schedule")
                #expect(noTime.status == .badRequest && noTime.errorField == "schedule")
                let past = try await call(.post, "/v1/campaigns/\(id)/schedule", ["schedule": ["send_at": "2020-01-01T00:00:00Z"]])
                #expect(past.status == .badRequest && past.errorField == "schedule.send_at")
                let when = ISO8601DateFormatter().string(from: herald.clock.now.addingTimeInterval(86_400))
                let scheduled = try await call(.post, "/v1/campaigns/\(id)/schedule", ["schedule": ["send_at": when]])
                #expect(scheduled.status == .ok && scheduled.json["status"] as? String == "scheduled")
                #expect((scheduled.json["schedule"] as? [String: String])?["send_at"] == when)

                // What the state does not allow: 409 invalid_state.
                for action in ["pause", "resume", "retry-failed"] {
                    let refused = try await call(.post, "/v1/campaigns/\(id)/\(action)")
                    #expect(refused.status == .conflict && refused.errorCode == "invalid_state", "\(action)")
                }
                // A template or segment in use is kept.
                let templateDelete = try await call(.delete, "/v1/templates/\(template.id)", headers: try await herald.bearer(["admin"]))
                #expect(templateDelete.status == .conflict && templateDelete.errorCode == "in_use")
                #expect(try await call(.delete, "/v1/segments/\(segment)").errorCode == "in_use")

                let patched = try await call(.patch, "/v1/campaigns/\(id)", ["name": "Xmas sale", "schedule": NSNull()])
                #expect(patched.json["name"] as? String == "Xmas sale" && patched.json["status"] as? String == "draft", "no schedule: a draft again")
                let list = try await call(.get, "/v1/campaigns?status=draft")
                #expect((list.json["data"] as? [[String: Any]])?.count == 1)
                #expect(try await call(.get, "/v1/campaigns?status=lost").errorField == "status")

                let canceled = try await call(.post, "/v1/campaigns/\(id)/cancel")
                #expect(canceled.json["status"] as? String == "canceled")
                #expect(try await call(.patch, "/v1/campaigns/\(id)", ["name": "again"]).errorCode == "invalid_state")
                #expect(try await call(.delete, "/v1/campaigns/\(id)").errorCode == "invalid_state")
                #expect(try await call(.post, "/v1/campaigns/\(id)/send").errorCode == "invalid_state")
                // Finished: the template may go now.
                #expect(try await call(.delete, "/v1/templates/\(template.id)", headers: try await herald.bearer(["admin"])).status == .noContent)
                #expect(try await call(.get, "/v1/campaigns/\(UUID())").status == .notFound)
                #expect(try await call(.get, "/v1/campaigns/not-an-id").status == .notFound)
            }
        }
    }

    @Test("send now through the API: the audience frozen at once, the recipient log filled and filterable")
    func sendNow() async throws {
        try await TestHerald.with { herald in
            try await CampaignTests.seed(herald, count: 4)
            try await herald.pool.query("UPDATE contacts SET subscribed = false WHERE phone = \(CampaignTests.phone(0))")
            let template = try await CampaignTests.template(herald)
            let auth = try await herald.bearer(["campaigns"])
            try await herald.test { client in
                let created = try await client.execute(uri: "/v1/campaigns", method: .post, headers: auth,
                                                       body: jsonBody(["name": "Now", "template_id": template.id.uuidString, "quiet_hours": NSNull()]))
                let id = try #require(created.json["id"] as? String)
                let sent = try await client.execute(uri: "/v1/campaigns/\(id)/send", method: .post, headers: auth)
                #expect(sent.status == .ok && sent.json["status"] as? String == "sending")
                #expect(sent.json["launched_at"] is String)
                let stats = try #require(sent.json["stats"] as? [String: Int])
                #expect(stats["recipients"] == 3 && stats["excluded"] == 1 && stats["queued"] == 3)
                _ = try await herald.core.campaigns.feedPass()
                let log = try await client.execute(uri: "/v1/campaigns/\(id)/recipients", method: .get, headers: auth)
                let entries = try #require(log.json["data"] as? [[String: Any]])
                #expect(entries.count == 4)
                #expect(entries.filter { $0["status"] as? String == "queued" && $0["message_status"] as? String == "queued" }.count == 3)
                let excluded = try await client.execute(uri: "/v1/campaigns/\(id)/recipients?status=excluded", method: .get, headers: auth)
                let left = try #require(excluded.json["data"] as? [[String: Any]])
                #expect(left.count == 1 && left[0]["reason"] as? String == "unsubscribed" && left[0]["phone"] as? String == CampaignTests.phone(0))
                let badFilter = try await client.execute(uri: "/v1/campaigns/\(id)/recipients?status=lost", method: .get, headers: auth)
                #expect(badFilter.status == .badRequest && badFilter.errorField == "status")
                // The per-recipient ledger through messages, too.
                let messages = try await client.execute(uri: "/v1/messages?campaign_id=\(id)", method: .get, headers: try await herald.bearer(["messages"]))
                #expect((messages.json["data"] as? [[String: Any]])?.count == 3)
                let estimate = try await client.execute(uri: "/v1/campaigns/\(id)/estimate", method: .post, headers: auth)
                #expect(estimate.json["frozen"] as? Bool == true && estimate.json["recipients"] as? Int == 3)
                let paused = try await client.execute(uri: "/v1/campaigns/\(id)/pause", method: .post, headers: auth)
                #expect(paused.json["status"] as? String == "paused")
                #expect((paused.json["stats"] as? [String: Int])?["queued"] == 3, "taken back out of the queue: waiting again")
                #expect(try await herald.pool.query("SELECT 1 FROM messages WHERE campaign_id = \(UUID(uuidString: id)!)").isEmpty)
            }
        }
    }
}
