import Foundation
import Herald
import HeraldHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Providers
import SMS
import Testing

/// Provider secrets stay write-only, the test endpoint never repeats what a remote host said,
/// and a provider whose secrets no longer decrypt stops only itself.
@Suite(.serialized) struct ProviderSecurityTests {
    static let accountSID = "AC" + String(repeating: "c", count: 32)

    static func twilio(name: String = "Twilio", baseURL: String, token: String) -> [String: Any] {
        ["name": name, "type": "twilio",
         "config": ["account_sid": accountSID, "auth_token": token, "from": "+15005550006", "base_url": baseURL]]
    }

    /// Everything stored for a provider, to show a refused PATCH wrote nothing.
    static func fingerprint(_ herald: TestHerald, _ id: String) async throws -> String {
        let rows = try await herald.pool.query(
            """
            SELECT name || '|' || config::text || '|' || coalesce(encode(secrets, 'hex'), '') || '|' || priority::text
                   || '|' || enabled::text || '|' || updated_at::text
            FROM providers WHERE id = \(UUID(uuidString: id)!)
            """)
        return try rows[0].decode(0, as: String.self)
    }

    /// The password of a request's HTTP basic `Authorization` header.
    static func basicPassword(_ request: ScriptedProvider.Seen?) -> String? {
        guard let header = request?.headers["authorization"], header.hasPrefix("Basic "),
              let data = Data(base64Encoded: String(header.dropFirst(6))) else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: ":", maxSplits: 1).last.map(String.init)
    }

    /// The error a service call refuses with, nil when it succeeds.
    static func refusal<T>(_ body: () async throws -> T) async -> HeraldError? {
        do { _ = try await body(); return nil }
        catch let error as HeraldError { return error }
        catch { return HeraldError(.validationFailed, "unexpected \(type(of: error))") }
    }

    // MARK: 1. Changing where requests go needs the secrets again

    @Test("PATCH of base_url without the secrets is refused, writes nothing, and the test still goes to the old host")
    func movingNeedsSecrets() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            try await ScriptedProvider.run(answer: { _, _, _ in .init(status: 201, body: #"{"sid":"SMold"}"#) }) { old in
                try await ScriptedProvider.run(answer: { _, _, _ in .init(status: 201, body: #"{"sid":"SMnew"}"#) }) { other in
                    let created = jsonBody(Self.twilio(baseURL: old.baseURL, token: "old-auth-token"))
                    let id: String = try await herald.test { client in
                        try await client.execute(uri: "/v1/providers", method: .post, headers: admin.json, body: created) { response in
                            #expect(response.status == .created)
                            return response.json["id"] as? String ?? ""
                        }
                    }
                    let before = try await Self.fingerprint(herald, id)
                    let refused: [[String: Any]] = [
                        ["base_url": other.baseURL],
                        ["base_url": other.baseURL, "auth_token": "********"],
                        ["base_url": other.baseURL, "from": "+15005550007"],
                        // Removing it moves requests too: to the default host.
                        ["base_url": NSNull()],
                    ]
                    let patches = refused.map { (jsonBody(["config": $0, "priority": 1]), "\($0)") }
                    try await herald.test { client in
                        for (patch, config) in patches {
                            try await client.execute(uri: "/v1/providers/\(id)", method: .patch, headers: admin.json, body: patch) { response in
                                #expect(response.status == .badRequest, "\(config)")
                                #expect(response.errorCode == "secrets_required", "\(config)")
                                #expect(response.errorField == "config.auth_token", "\(config)")
                                #expect(!response.text.contains("old-auth-token"))
                            }
                        }
                    }
                    #expect(try await Self.fingerprint(herald, id) == before, "a refused PATCH writes nothing")
                    try await herald.test { client in
                        try await client.execute(uri: "/v1/providers/\(id)/test", method: .post, headers: admin.json,
                                                 body: jsonBody(["to": "+14155550100"])) { response in
                            #expect(response.status == .ok)
                            #expect(response.json["provider_message_id"] as? String == "SMold")
                        }
                    }
                    #expect(old.requests.count == 1)
                    #expect(Self.basicPassword(old.requests.first) == "old-auth-token")
                    #expect(other.requests.isEmpty, "the credentials never reached the other host")

                    try await herald.test { client in
                        // What the dashboard's form sends back: the same URL and ******** keep everything.
                        try await client.execute(uri: "/v1/providers/\(id)", method: .patch, headers: admin.json, body: jsonBody([
                            "config": ["base_url": old.baseURL, "auth_token": "********", "from": "+15005550007"],
                        ])) { response in
                            #expect(response.status == .ok)
                        }
                        // With the secret sent again, the move is allowed.
                        try await client.execute(uri: "/v1/providers/\(id)", method: .patch, headers: admin.json, body: jsonBody([
                            "config": ["base_url": other.baseURL, "auth_token": "new-auth-token"],
                        ])) { response in
                            #expect(response.status == .ok)
                            #expect((response.json["config"] as? [String: Any])?["base_url"] as? String == other.baseURL)
                            #expect((response.json["config"] as? [String: Any])?["auth_token"] as? String == "********")
                        }
                        try await client.execute(uri: "/v1/providers/\(id)/test", method: .post, headers: admin.json,
                                                 body: jsonBody(["to": "+14155550100"])) { response in
                            #expect(response.json["provider_message_id"] as? String == "SMnew")
                        }
                    }
                    #expect(other.requests.count == 1)
                    #expect(Self.basicPassword(other.requests.first) == "new-auth-token")
                    #expect(old.requests.count == 1)
                }
            }
        }
    }

    @Test("every URL key counts (voice_base_url, the http url), and every stored secret must come again, headers included")
    func everyDestinationAndSecret() async throws {
        try await TestHerald.with { herald in
            let providers = herald.core.providers
            let vonage = try await providers.create(ProviderInput(name: "vonage", type: "vonage", config: [
                "api_key": .string("key"), "api_secret": .string("vonage-secret"), "signature_secret": .string("vonage-signing"),
                "from": .string("Herald"), "base_url": .string("http://127.0.0.1:9"),
            ]))
            let voiceMove: [String: JSONValue] = ["voice_base_url": .string("http://127.0.0.1:10"), "api_secret": .string("vonage-secret")]
            let refusedVoice = await Self.refusal { try await providers.update(id: vonage.id, ProviderInput(config: voiceMove)) }
            #expect(refusedVoice?.code.rawValue == "secrets_required")
            #expect(refusedVoice?.field == "config.signature_secret")
            var withBoth = voiceMove
            withBoth["signature_secret"] = .string("vonage-signing-2")
            let moved = try await providers.update(id: vonage.id, ProviderInput(config: withBoth))
            #expect(moved.config["voice_base_url"] == "http://127.0.0.1:10")

            let http = try await providers.create(ProviderInput(name: "gateway", type: "http", config: [
                "url": .string("http://127.0.0.1:9/send"), "headers": .object(["Authorization": .string("Bearer gateway-key")]),
            ]))
            for headers in [nil, Provider.redacted] as [JSONValue?] {
                var config: [String: JSONValue] = ["url": .string("http://127.0.0.1:10/send")]
                if let headers { config["headers"] = headers }
                let refused = await Self.refusal { try await providers.update(id: http.id, ProviderInput(config: config)) }
                #expect(refused?.code.rawValue == "secrets_required")
                #expect(refused?.field == "config.headers")
            }
            let stillThere = try await providers.provider(id: http.id)
            #expect(stillThere.config["url"] == "http://127.0.0.1:9/send")
            #expect(stillThere.config.values["headers"] == .object(["Authorization": .string("Bearer gateway-key")]))
            // Removing the headers with the move also keeps them from the new host.
            let dropped = try await providers.update(id: http.id, ProviderInput(config: [
                "url": .string("http://127.0.0.1:10/send"), "headers": .null,
            ]))
            #expect(dropped.config.values["headers"] == nil)

            // Without stored secrets there is nothing to protect.
            let plain = try await providers.create(ProviderInput(name: "plain", type: "http", config: ["url": .string("http://127.0.0.1:9/a")]))
            let movedPlain = try await providers.update(id: plain.id, ProviderInput(config: ["url": .string("http://127.0.0.1:9/b")]))
            #expect(movedPlain.config["url"] == "http://127.0.0.1:9/b")
        }
    }

    // MARK: 2. The test endpoint never repeats the remote body

    @Test("a refused test reports HTTP status, provider code and category, never the remote body")
    func testRefusalEchoesNothing() async throws {
        let marker = "MARKER-7f3a9c"
        try await TestHerald.with { herald in
            let admin = try await herald.bearer(["admin"])
            try await ScriptedProvider.run(answer: { path, _, _ in
                if path.hasPrefix("/odd-code/") {
                    return .init(status: 400, body: #"{"code": "\#(marker) is a code with spaces", "message": "\#(marker)"}"#)
                }
                if path.hasPrefix("/2010-04-01/") {
                    return .init(status: 400, body: #"{"code": 21211, "message": "\#(marker): The 'To' number +14155550100 is not valid.", "more_info": "https://\#(marker).example", "status": 400}"#)
                }
                if path == "/html" { return .init(status: 500, body: "<html><body>\(marker) stack trace, Authorization: Bearer gateway-key</body></html>") }
                return .init(status: 200, body: #"{"error": "\#(marker)"}"#)
            }) { server in
                let setups: [([String: Any], [String])] = [
                    (Self.twilio(name: "twilio", baseURL: server.baseURL, token: "t"), ["HTTP 400", "21211", "invalid_number"]),
                    (Self.twilio(name: "odd", baseURL: server.baseURL + "/odd-code", token: "t"), ["HTTP 400", "unrecognised"]),
                    (["name": "html", "type": "http", "config": ["url": server.baseURL + "/html", "headers": ["Authorization": "Bearer gateway-key"]]],
                     ["HTTP 500", "500", "unavailable"]),
                    (["name": "no-id", "type": "http", "config": ["url": server.baseURL + "/no-id", "id_path": "data.id"]],
                     ["HTTP 200", "invalid_response"]),
                ]
                let bodies = setups.map { (jsonBody($0.0), $0.1) }
                try await herald.test { client in
                    for (body, expected) in bodies {
                        let id = try await client.execute(uri: "/v1/providers", method: .post, headers: admin.json, body: body) { response in
                            #expect(response.status == .created)
                            return response.json["id"] as? String ?? ""
                        }
                        try await client.execute(uri: "/v1/providers/\(id)/test", method: .post, headers: admin.json,
                                                 body: jsonBody(["to": "+14155550100"])) { response in
                            #expect(response.status == .badGateway)
                            #expect(response.errorCode == "provider_error")
                            #expect(!response.text.contains(marker), "\(response.text)")
                            #expect(!response.text.contains("gateway-key"))
                            let message = (response.json["error"] as? [String: Any])?["message"] as? String ?? ""
                            for part in expected { #expect(message.contains(part), "\(message) lacks \(part)") }
                        }
                    }
                }
                #expect(server.requests.count == 4)
            }
        }
    }

    // MARK: 3. Secrets that no longer decrypt break one provider, not Herald

    static let rotatedSecret = ServerSecret("another-secret-of-sufficient-length")

    /// A second Herald over the same database with another `HERALD_SECRET`: its core, its
    /// HTTP application and a runner for its workers.
    struct Rotated {
        let core: HeraldCore
        let herald: TestHerald

        static func with<T>(_ herald: TestHerald, _ body: (Rotated) async throws -> T) async throws -> T {
            var configuration = herald.core.configuration
            configuration.publicURL = "http://127.0.0.1:8080"
            var options = HeraldCore.Options()
            options.dispatcher = DispatcherTests.fast
            options.passwordCost = 4
            options.clock = herald.clock
            let core = try HeraldCore(configuration: configuration, database: herald.database, secret: ProviderSecurityTests.rotatedSecret,
                                  resourceDirectory: repositoryRoot, options: options, logger: testLogger)
            do {
                let result = try await body(Rotated(core: core, herald: herald))
                await core.close()
                return result
            } catch {
                await core.close()
                throw error
            }
        }

        func test<T: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
            try await buildApplication(core, logger: testLogger).test(.router, body)
        }

        /// Runs this core's workers until `condition` holds; fails the test if it does not.
        func dispatch(until condition: @Sendable () async throws -> Bool) async throws {
            let workers = core.workers.all
            let met = try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers { group.addTask { try await worker.run() } }
                defer { group.cancelAll() }
                let deadline = ContinuousClock.now + .seconds(20)
                while ContinuousClock.now < deadline {
                    if try await condition() { return true }
                    try await Task.sleep(for: .milliseconds(20))
                }
                return try await condition()
            }
            guard met else { throw WaitTimedOut(timeout: .seconds(20)) }
        }
    }

    @Test("a provider whose secrets no longer decrypt lists as broken; routing, the outbox and the others keep working")
    func brokenProviderIsContained() async throws {
        try await TestHerald.with(dispatcher: DispatcherTests.fast) { herald in
            try await ScriptedProvider.run(answer: { path, _, _ in
                path.hasSuffix("/Messages.json") ? .init(status: 201, body: #"{"sid":"SMtwilio"}"#) : .init(status: 200, body: #"{"id":"via-backup"}"#)
            }) { server in
                // Saved under the first HERALD_SECRET…
                let twilio = try await herald.core.providers.create(ProviderInput(name: "twilio", type: "twilio", config: [
                    "account_sid": .string(Self.accountSID), "auth_token": .string("first-token"),
                    "from": .string("+15005550006"), "base_url": .string(server.baseURL),
                ], priority: 1))
                try await Rotated.with(herald) { rotated in
                    // …read under another. A healthy provider with secrets of its own, saved under the new one.
                    let backup = try await rotated.core.providers.create(ProviderInput(name: "backup", type: "http", config: [
                        "url": .string(server.baseURL + "/backup"), "id_path": .string("id"),
                        "headers": .object(["Authorization": .string("Bearer backup-key")]),
                    ], priority: 2, countries: ["US"]))
                    let outbox = try await rotated.core.providers.create(ProviderInput(name: "de-outbox", type: "outbox", countries: ["DE"]))

                    // Queued messages still go: through the healthy provider, and through the outbox.
                    let message = try await rotated.core.messages.send(SendMessageRequest(to: "+14155550100", body: "still flowing"), apiKeyID: nil)
                    let kept = try await rotated.core.messages.send(SendMessageRequest(to: "+4915112345678", body: "kept here"), apiKeyID: nil)
                    try await rotated.dispatch {
                        let first = try await herald.message(message.id)?.status
                        let second = try await herald.message(kept.id)?.status
                        return first == .sent && second == .sent
                    }
                    let sent = try await herald.message(message.id)
                    #expect(sent?.status == .sent)
                    #expect(sent?.providerID == backup.id)
                    #expect(sent?.providerMessageID == "via-backup")
                    let outboxed = try await herald.message(kept.id)
                    #expect(outboxed?.status == .sent)
                    #expect(outboxed?.providerID == outbox.id)
                    #expect(server.requests.map(\.path) == ["/backup"])
                    #expect(server.requests.first?.headers["authorization"] == "Bearer backup-key")

                    let admin = try await herald.bearer(["admin"])
                    let twilioID = twilio.id.uuidString.lowercased()
                    try await rotated.test { client in
                        try await client.execute(uri: "/v1/providers", method: .get, headers: admin) { response in
                            #expect(response.status == .ok)
                            let data = response.json["data"] as? [[String: Any]] ?? []
                            #expect(data.count == 3)
                            let broken = data.first { $0["id"] as? String == twilioID } ?? [:]
                            #expect(broken["status"] as? String == "broken")
                            let error = broken["error"] as? [String: Any] ?? [:]
                            #expect(error["code"] as? String == "secrets_unreadable")
                            #expect((error["message"] as? String)?.contains("re-enter the secrets") == true)
                            #expect((broken["config"] as? [String: Any])?["auth_token"] == nil)
                            #expect(broken["status_webhook_url"] == nil)
                            for healthy in data where healthy["id"] as? String != twilioID {
                                #expect(healthy["status"] as? String == "ok")
                                #expect(healthy["error"] is NSNull)
                            }
                        }
                        try await client.execute(uri: "/v1/providers/\(twilioID)", method: .get, headers: admin) { response in
                            #expect(response.status == .ok)
                            #expect(response.json["status"] as? String == "broken")
                        }
                        try await client.execute(uri: "/v1/providers/\(twilioID)/test", method: .post, headers: admin.json,
                                                 body: jsonBody(["to": "+14155550100"])) { response in
                            #expect(response.status == .serviceUnavailable)
                            #expect(response.errorCode == "secrets_unreadable")
                        }
                        // Its webhooks are refused: nothing can check their signatures.
                        let receipt = ByteBuffer(string: "MessageSid=SM1&MessageStatus=delivered")
                        try await client.execute(uri: "/webhooks/\(twilioID)/status", method: .post,
                                                 headers: [.contentType: "application/x-www-form-urlencoded"], body: receipt) { response in
                            #expect(response.status == .serviceUnavailable)
                            #expect(response.errorCode == "secrets_unreadable")
                        }
                    }
                    #expect(server.requests.count == 1, "nothing went to the broken provider")

                    // The store lists and reads it without its secrets; acting for it is refused.
                    let store = ProviderStore(pool: herald.pool, secret: Self.rotatedSecret)
                    let all = try await store.all()
                    #expect(all.map(\.id) == [twilio.id, backup.id, outbox.id])
                    #expect(all.first?.config["auth_token"] == nil)
                    #expect(all.first?.config["account_sid"] == Self.accountSID)
                    #expect(all.dropFirst().first?.config.values["headers"] == .object(["Authorization": .string("Bearer backup-key")]))
                    let acting = await Self.refusal { try await store.provider(id: twilio.id) }
                    #expect(acting?.code.rawValue == "secrets_unreadable")

                    // Routing skips it.
                    let snapshot = try await rotated.core.providers.directory.snapshot()
                    #expect(snapshot.routes.map(\.provider.id) == [backup.id, outbox.id])
                    #expect(!snapshot.noneConfigured)
                }
            }
        }
    }

    @Test("a broken provider can be disabled as it is, keeps its sealed secrets, and is repaired by a PATCH with fresh secrets")
    func brokenProviderRepair() async throws {
        try await TestHerald.with(dispatcher: DispatcherTests.fast) { herald in
            try await ScriptedProvider.run(answer: { _, _, _ in .init(status: 201, body: #"{"sid":"SMrepaired"}"#) }) { server in
                let twilio = try await herald.core.providers.create(ProviderInput(name: "twilio", type: "twilio", config: [
                    "account_sid": .string(Self.accountSID), "auth_token": .string("first-token"),
                    "from": .string("+15005550006"), "base_url": .string(server.baseURL),
                ]))
                let twilioID = twilio.id.uuidString.lowercased()
                let admin = try await herald.bearer(["admin"])
                try await Rotated.with(herald) { rotated in
                    let sealedBefore = try await herald.pool.query("SELECT encode(secrets, 'hex') FROM providers WHERE id = \(twilio.id)")[0]
                        .decode(0, as: String.self)
                    try await rotated.test { client in
                        try await client.execute(uri: "/v1/providers/\(twilioID)", method: .patch, headers: admin.json,
                                                 body: jsonBody(["enabled": false, "priority": 3])) { response in
                            #expect(response.status == .ok)
                            #expect(response.json["status"] as? String == "broken")
                            #expect(response.json["enabled"] as? Bool == false)
                        }
                        // Its config changes only with the secrets again: ******** has nothing to keep.
                        for config in [["from": "+15005550007"], ["auth_token": "********"], ["auth_token": "********", "from": "+15005550007"]] {
                            try await client.execute(uri: "/v1/providers/\(twilioID)", method: .patch, headers: admin.json,
                                                     body: jsonBody(["config": config])) { response in
                                #expect(response.status == .badRequest, "\(config)")
                                #expect(response.errorCode == "secrets_required", "\(config)")
                                #expect(response.errorField == "config.auth_token", "\(config)")
                            }
                        }
                    }
                    // The sealed secrets were left alone: under the old HERALD_SECRET they still open.
                    let sealedAfter = try await herald.pool.query("SELECT encode(secrets, 'hex') FROM providers WHERE id = \(twilio.id)")[0]
                        .decode(0, as: String.self)
                    #expect(sealedAfter == sealedBefore)
                    #expect(try await herald.core.providers.provider(id: twilio.id).config["auth_token"] == "first-token")

                    try await rotated.test { client in
                        try await client.execute(uri: "/v1/providers/\(twilioID)", method: .patch, headers: admin.json,
                                                 body: jsonBody(["config": ["auth_token": "fresh-token"], "enabled": true])) { response in
                            #expect(response.status == .ok)
                            #expect(response.json["status"] as? String == "ok")
                            #expect(response.json["error"] is NSNull)
                            #expect((response.json["config"] as? [String: Any])?["auth_token"] as? String == "********")
                            #expect((response.json["status_webhook_url"] as? String)?.contains(twilioID) == true)
                        }
                        try await client.execute(uri: "/v1/providers/\(twilioID)/test", method: .post, headers: admin.json,
                                                 body: jsonBody(["to": "+14155550100"])) { response in
                            #expect(response.status == .ok)
                            #expect(response.json["provider_message_id"] as? String == "SMrepaired")
                        }
                    }
                    #expect(Self.basicPassword(server.requests.last) == "fresh-token")
                    let snapshot = try await rotated.core.providers.directory.snapshot()
                    #expect(snapshot.routes.map(\.provider.id) == [twilio.id])
                }
            }
        }
    }
}
