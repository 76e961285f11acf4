import Foundation
import Herald
import HeraldHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite(.serialized) struct ProviderHTTPTests {
    static var twilio: [String: Any] { [
        "name": "Twilio US", "type": "twilio", "priority": 5, "countries": ["us", "CA"], "rate_per_second": 30,
        "config": ["account_sid": "AC" + String(repeating: "b", count: 32), "auth_token": "super-secret-token", "from": "+15005550006"],
    ] }

    @Test("providers: secrets write-only and encrypted at rest; PATCH merges; delete")
    func lifecycle() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            let messagesOnly = try await herald.bearer(["messages"])
            let payload = jsonBody(Self.twilio)
            let id: String = try await herald.test { client in
                let id = try await client.execute(uri: "/v1/providers", method: .post, headers: admin.json, body: payload) { response in
                    #expect(response.status == .created)
                    let config = response.json["config"] as? [String: Any] ?? [:]
                    #expect(config["auth_token"] as? String == "********")
                    #expect(config["account_sid"] as? String == "AC" + String(repeating: "b", count: 32))
                    #expect(response.json["countries"] as? [String] == ["US", "CA"])
                    #expect((response.json["status_webhook_url"] as? String)?.contains("/webhooks/") == true)
                    #expect(!String(buffer: response.body).contains("super-secret-token"))
                    return response.json["id"] as? String ?? ""
                }
                try await client.execute(uri: "/v1/providers", method: .get, headers: messagesOnly) { response in
                    #expect(response.status == .forbidden)
                }
                // PATCH: "********" keeps the stored secret; other keys change.
                try await client.execute(uri: "/v1/providers/\(id)", method: .patch, headers: admin.json, body: jsonBody([
                    "config": ["auth_token": "********", "from": "+15005550007"], "enabled": false, "rate_per_second": NSNull(),
                ])) { response in
                    #expect(response.status == .ok)
                    #expect((response.json["config"] as? [String: Any])?["from"] as? String == "+15005550007")
                    #expect(response.json["enabled"] as? Bool == false)
                    #expect(response.json["rate_per_second"] is NSNull)
                }
                return id
            }
            // At rest: no secret in the clear anywhere in the row.
            let row = try await herald.pool.query("SELECT config::text, encode(secrets, 'escape') FROM providers")
            #expect(try !row[0].decode(0, as: String.self).contains("super-secret-token"))
            #expect(try !(row[0].decode(1, as: String?.self) ?? "").contains("super-secret-token"))
            let stored = try await herald.core.providers.provider(id: UUID(uuidString: id)!)
            #expect(stored.config["auth_token"] == "super-secret-token")
            try await herald.test { client in
                try await client.execute(uri: "/v1/providers/\(id)", method: .delete, headers: admin) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/v1/providers/\(id)", method: .get, headers: admin) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }

    @Test("bad provider input names the field and stores nothing")
    func badInput() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            var missingSid = Self.twilio
            missingSid["config"] = ["auth_token": "x", "from": "+15005550006"]
            var unknownKey = Self.twilio
            unknownKey["config"] = ["account_sid": "AC1", "auth_token": "x", "from": "+1", "colour": "red"]
            var badURL = Self.twilio
            badURL["config"] = ["account_sid": "AC1", "auth_token": "x", "from": "+1", "base_url": "file:///etc/passwd"]
            var badCountry = Self.twilio
            badCountry["countries"] = ["ZZ"]
            var badRate = Self.twilio
            badRate["rate_per_second"] = 0
            var badType = Self.twilio
            badType["type"] = "carrier-pigeon"
            let raw: [([String: Any], String)] = [
                (missingSid, "config.account_sid"), (unknownKey, "config.colour"), (badURL, "config.base_url"),
                (badCountry, "countries[0]"), (badRate, "rate_per_second"), (badType, "type"),
                (["type": "http", "name": "h", "config": ["url": "https://x.example", "body": "{{#open}}"]], "config.body"),
            ]
            let cases = raw.map { (jsonBody($0.0), $0.1) }
            let valid = jsonBody(Self.twilio)
            try await herald.test { client in
                for (body, field) in cases {
                    try await client.execute(uri: "/v1/providers", method: .post, headers: admin.json, body: body) { response in
                        #expect(response.status == .badRequest, "\(field)")
                        #expect(response.errorCode == "validation_failed", "\(field)")
                        #expect(response.errorField == field)
                    }
                }
                try await client.execute(uri: "/v1/providers", method: .post, headers: admin.json, body: valid) { response in
                    #expect(response.status == .created)
                }
                try await client.execute(uri: "/v1/providers", method: .post, headers: admin.json, body: valid) { response in
                    #expect(response.status == .conflict)
                    #expect(response.errorCode == "already_exists")
                }
            }
            let count = try await herald.pool.query("SELECT count(*)::int FROM providers")
            #expect(try count[0].decode(0, as: Int.self) == 1)
        }
    }

    @Test("POST /v1/providers/{id}/test sends through that provider and reports its answer")
    func testSend() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            try await ScriptedProvider.run(answer: { _, body, _ in
                body.contains("%2B14155550100")
                    ? .init(status: 201, body: #"{"sid":"SM0123","status":"queued"}"#)
                    : .init(status: 401, body: #"{"code":20003,"message":"Authenticate","status":401}"#)
            }) { server in
                var body = Self.twilio
                body["config"] = ["account_sid": "AC" + String(repeating: "b", count: 32), "auth_token": "t", "from": "+15005550006", "base_url": server.baseURL]
                let payload = jsonBody(body)
                let id: String = try await herald.test { client in
                    try await client.execute(uri: "/v1/providers", method: .post, headers: admin.json, body: payload) { $0.json["id"] as? String ?? "" }
                }
                try await herald.test { client in
                    try await client.execute(uri: "/v1/providers/\(id)/test", method: .post, headers: admin.json, body: jsonBody(["to": "+14155550100"])) { response in
                        #expect(response.status == .ok)
                        #expect(response.json["provider_message_id"] as? String == "SM0123")
                    }
                    try await client.execute(uri: "/v1/providers/\(id)/test", method: .post, headers: admin.json, body: jsonBody(["to": "+14155550101"])) { response in
                        #expect(response.status == .badGateway)
                        #expect(response.errorCode == "provider_error")
                        #expect((response.json["error"] as? [String: Any])?["message"].map { "\($0)" }?.contains("20003") == true)
                    }
                    try await client.execute(uri: "/v1/providers/\(id)/test", method: .post, headers: admin.json, body: jsonBody(["to": "nope"])) { response in
                        #expect(response.errorCode == "invalid_phone_number")
                    }
                }
            }
        }
    }
}
