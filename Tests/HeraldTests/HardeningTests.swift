import Foundation
@testable import Herald
import HeraldHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Providers
import SMS
import Testing

/// Findings of the security review, each pinned by a test that failed before its fix.
@Suite(.serialized) struct HardeningTests {
    static let publicURL = "https://herald.example"

    func httpProvider(_ herald: TestHerald, _ name: String) async throws -> Provider {
        try await herald.core.providers.create(ProviderInput(
            name: name, type: "http", config: ["url": .string("https://\(name).example/send"), "id_path": .string("id")]))
    }

    func statusPath(_ provider: Provider, message: UUID? = nil) -> String {
        "/webhooks/\(provider.id.uuidString.lowercased())/status?"
            + (message.map { "m=\($0.uuidString.lowercased())&" } ?? "") + "token=\(provider.webhookToken)"
    }

    func receipt(_ providerMessageID: String, _ status: String) -> ByteBuffer {
        ByteBuffer(string: #"{"provider_message_id": "\#(providerMessageID)", "status": "\#(status)"}"#)
    }

    // MARK: Receipts belong to their provider

    @Test("a receipt cannot mark a queued message delivered: nobody sent it, so it would never go")
    func receiptForQueuedMessage() async throws {
        try await TestHerald.with(publicURL: Self.publicURL) { herald in
            let attacker = try await httpProvider(herald, "attacker")
            let queued = try await herald.core.messages.send(SendMessageRequest(to: "+14155550100", body: "your code"), apiKeyID: nil)
            try await herald.test { client in
                try await client.execute(uri: statusPath(attacker, message: queued.id), method: .post, headers: jsonHeaders,
                                         body: receipt("forged-1", "delivered")) { response in
                    #expect(response.status == .ok)
                }
            }
            let after = try #require(try await herald.message(queued.id))
            #expect(after.status == .queued, "a forged receipt must not settle a message nobody sent")
            #expect(after.providerID == nil)
        }
    }

    @Test("a receipt from one provider's webhook cannot change a message sent through another")
    func receiptFromAnotherProvider() async throws {
        try await TestHerald.with(publicURL: Self.publicURL) { herald in
            let real = try await httpProvider(herald, "real")
            let other = try await httpProvider(herald, "other")
            let message = try await herald.core.messages.send(SendMessageRequest(to: "+14155550100", body: "hello"), apiKeyID: nil)
            try await herald.pool.query(
                """
                UPDATE messages SET status = 'sent', provider_id = \(real.id), provider_message_id = 'real-1', attempts = 1
                WHERE id = \(message.id)
                """)
            try await herald.test { client in
                // By the callback's m= and by the provider's message id: neither may cross providers.
                try await client.execute(uri: statusPath(other, message: message.id), method: .post, headers: jsonHeaders,
                                         body: receipt("real-1", "undelivered")) { response in #expect(response.status == .ok) }
                try await client.execute(uri: statusPath(other), method: .post, headers: jsonHeaders,
                                         body: receipt("real-1", "failed")) { response in #expect(response.status == .ok) }
                #expect(try await herald.message(message.id)?.status == .sent)
                // Its own provider's receipt does apply.
                try await client.execute(uri: statusPath(real, message: message.id), method: .post, headers: jsonHeaders,
                                         body: receipt("real-1", "delivered")) { response in #expect(response.status == .ok) }
                #expect(try await herald.message(message.id)?.status == .delivered)
                // And a receipt naming another provider message id through m= does not move it either.
                try await client.execute(uri: statusPath(real, message: message.id), method: .post, headers: jsonHeaders,
                                         body: receipt("real-2", "undelivered")) { response in #expect(response.status == .ok) }
                #expect(try await herald.message(message.id)?.status == .delivered)
            }
        }
    }

    @Test("a replayed webhook changes nothing the second time")
    func replayedWebhook() async throws {
        try await TestHerald.with(publicURL: Self.publicURL) { herald in
            let provider = try await httpProvider(herald, "replies")
            let path = "/webhooks/\(provider.id.uuidString.lowercased())/inbound?token=\(provider.webhookToken)"
            // The http provider's inbound messages may carry no id of their own.
            let stop = ByteBuffer(string: #"{"from": "+14155550177", "to": "+15005550006", "text": "STOP"}"#)
            try await herald.test { client in
                for _ in 0..<3 {
                    try await client.execute(uri: path, method: .post, headers: jsonHeaders, body: stop) { response in
                        #expect(response.status == .ok)
                    }
                }
            }
            let ledger = try await herald.core.consent.ledger(phone: "+14155550177")
            #expect(ledger.map(\.action) == ["unsubscribe"], "one STOP, one ledger entry")
            let replies = try await herald.pool.query("SELECT count(*)::int FROM messages WHERE to_number = '+14155550177'")
            #expect(try replies[0].decode(0, as: Int.self) == 1, "one STOP, one confirmation")
        }
    }

    @Test("a deleted provider's webhooks are refused at once, not after its cache entry ages out")
    func providerCacheInvalidated() async throws {
        try await TestHerald.with(publicURL: Self.publicURL) { herald in
            let provider = try await httpProvider(herald, "gone")
            try await herald.test { client in
                try await client.execute(uri: statusPath(provider), method: .post, headers: jsonHeaders,
                                         body: receipt("x-1", "delivered")) { response in #expect(response.status == .ok) }
                try await herald.core.providers.delete(id: provider.id)
                try await client.execute(uri: statusPath(provider), method: .post, headers: jsonHeaders,
                                         body: receipt("x-2", "delivered")) { response in #expect(response.status == .notFound) }
            }
        }
    }

    // MARK: Input limits

    @Test("body limits count Unicode code points, not grapheme clusters")
    func bodyLimitInCodePoints() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["messages"])
            // 1,000 characters that are 3,000 code points (a letter and two combining marks each).
            let stacked = String(repeating: "e\u{301}\u{302}", count: 1000)
            #expect(stacked.count == 1000 && stacked.unicodeScalars.count == 3000)
            try await herald.test { client in
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth,
                                         body: jsonBody(["to": "+14155550100", "body": stacked])) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorField == "body")
                }
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth,
                                         body: jsonBody(["to": "+14155550100", "body": String(repeating: "é", count: 1600)])) { response in
                    #expect(response.status == .accepted)
                }
            }
        }
    }

    @Test("JSON endpoints refuse a missing or wrong Content-Type with 415, and write nothing")
    func contentTypeRequired() async throws {
        try await TestHerald.with { herald in
            let key = try await herald.core.identity.createAPIKey(name: "t", scopes: ["messages"], createdBy: nil)
            let body = jsonBody(["to": "+14155550100", "body": "hello"])
            try await herald.test { client in
                for contentType: String? in [nil, "text/plain", "application/x-www-form-urlencoded"] {
                    var headers: HTTPFields = [.authorization: "Bearer \(key.secret)"]
                    if let contentType { headers[.contentType] = contentType }
                    try await client.execute(uri: "/v1/messages", method: .post, headers: headers, body: body) { response in
                        #expect(response.status == .unsupportedMediaType, "\(contentType ?? "none")")
                        #expect(response.errorCode == "unsupported_media_type")
                    }
                }
            }
            let rows = try await herald.pool.query("SELECT count(*)::int FROM messages")
            #expect(try rows[0].decode(0, as: Int.self) == 0)
        }
    }

    // MARK: Headers

    @Test("error responses carry the security headers too")
    func securityHeadersOnErrors() async throws {
        try await TestHerald.with { herald in
            try await herald.test { client in
                for (uri, status) in [("/v1/messages", HTTPResponse.Status.unauthorized), ("/v1/nothing-here", .notFound)] {
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status == status)
                        #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff", "\(uri)")
                        #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true, "\(uri)")
                        #expect(response.headers[.cacheControl] == "no-store", "\(uri)")
                    }
                }
            }
        }
    }

    @Test("with an https public URL, responses tell browsers to stay on https")
    func strictTransportSecurity() async throws {
        try await TestHerald.with(publicURL: "https://herald.example") { herald in
            try await herald.test { client in
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.headers[HTTPField.Name("Strict-Transport-Security")!]?.hasPrefix("max-age=") == true)
                }
            }
        }
        try await TestHerald.with(publicURL: "http://127.0.0.1:8080") { herald in
            try await herald.test { client in
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.headers[HTTPField.Name("Strict-Transport-Security")!] == nil)
                }
            }
        }
    }

    @Test("/metrics can demand a bearer token")
    func metricsToken() async throws {
        try await TestHerald.with { herald in
            var options = HTTPOptions()
            options.metricsToken = "metrics-token-0123456789"
            let app = try buildApplication(herald.core, options: options, logger: testLogger)
            try await app.test(.router) { client in
                for header in [nil, "Bearer wrong-token-0123456789", "metrics-token-0123456789"] {
                    var headers: HTTPFields = [:]
                    if let header { headers[.authorization] = header }
                    try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized, "\(header ?? "none")")
                    }
                }
                try await client.execute(uri: "/metrics", method: .get,
                                         headers: [.authorization: "Bearer metrics-token-0123456789"]) { response in
                    #expect(response.status == .ok)
                    #expect(response.text.contains("herald_db_pool"))
                }
            }
        }
        let configuration = try HeraldConfiguration.fromEnvironment(["HERALD_METRICS_TOKEN": "metrics-token-0123456789"])
        #expect(configuration.metricsToken == "metrics-token-0123456789")
        #expect(throws: ConfigurationError.self) { try HeraldConfiguration.fromEnvironment(["HERALD_METRICS_TOKEN": "short"]) }
    }

    // MARK: Outbound requests

    @Test("provider URLs and events_url never point at metadata or link-local addresses, nor private ones unless allowed")
    func outboundDestinations() async throws {
        try await TestHerald.with(configure: { $0.allowPrivateNetworks = false }) { herald in
            let admin = try await herald.bearer(["admin"])
            try await herald.test { client in
                for url in ["http://169.254.169.254/latest", "http://metadata.google.internal/", "http://[fe80::1]/", "http://127.0.0.1:9099"] {
                    try await client.execute(uri: "/v1/providers", method: .post, headers: admin, body: jsonBody([
                        "name": "p", "type": "twilio",
                        "config": ["account_sid": "AC" + String(repeating: "a", count: 32), "auth_token": "t", "from": "+15005550006", "base_url": url],
                    ])) { response in
                        #expect(response.status == .badRequest, "\(url)")
                        #expect(response.errorField == "config.base_url", "\(url)")
                    }
                    try await client.execute(uri: "/v1/settings", method: .patch, headers: admin, body: jsonBody(["events_url": url])) { response in
                        #expect(response.status == .badRequest, "\(url)")
                        #expect(response.errorField == "events_url", "\(url)")
                    }
                }
            }
            #expect(try await herald.core.settings.current().eventsURL == nil)
        }
        // With private networks allowed (a simulator on this machine), loopback is fine; metadata never.
        try await TestHerald.with(configure: { $0.allowPrivateNetworks = true }) { herald in
            let admin = try await herald.bearer(["admin"])
            try await herald.test { client in
                try await client.execute(uri: "/v1/settings", method: .patch, headers: admin,
                                         body: jsonBody(["events_url": "http://127.0.0.1:9/events"])) { #expect($0.status == .ok) }
                try await client.execute(uri: "/v1/settings", method: .patch, headers: admin,
                                         body: jsonBody(["events_url": "http://169.254.169.254/"])) { #expect($0.status == .badRequest) }
            }
        }
    }

    @Test("a provider whose name resolves to a loopback address is refused on the connection itself")
    func refusedOnConnection() async throws {
        try await ScriptedProvider.run(answer: { _, _, _ in .init(status: 200, body: #"{"id":"should-not"}"#) }) { server in
            try await TestHerald.with(dispatcher: DispatcherTests.fast, configure: { $0.allowPrivateNetworks = false }) { herald in
                // `localhost` passes the save-time check only as a name; what it resolves to is refused at connect.
                let port = server.baseURL.split(separator: ":").last.map(String.init) ?? "80"
                let provider = try? await herald.core.providers.create(ProviderInput(
                    name: "sneaky", type: "http", config: ["url": .string("http://localhost.:\(port)/send"), "id_path": .string("id")]))
                guard provider != nil else { return }  // refused at save: fine too
                let message = try await herald.core.messages.send(SendMessageRequest(to: "+14155550100", body: "hi"), apiKeyID: nil)
                try await dispatchUntil(herald) {
                    guard let stored = try await herald.message(message.id) else { return false }
                    return stored.status != .queued && stored.status != .sending || stored.error != nil
                }
                #expect(server.requests.isEmpty, "the request never reached the loopback server")
            }
        }
    }

    // MARK: Database

    @Test("every statement of the application runs under a statement timeout")
    func statementTimeout() async throws {
        try await TestHerald.with { herald in
            let setting = try await herald.pool.query("SELECT current_setting('statement_timeout')")
            #expect(try setting[0].decode(0, as: String.self) == "30s")
            var configuration = herald.core.configuration
            configuration.statementTimeout = .milliseconds(200)
            let short = try HeraldCore(configuration: configuration, database: herald.database, secret: ServerSecret(testSecret),
                                   resourceDirectory: repositoryRoot, logger: testLogger)
            await #expect(throws: PostgresError.self) { try await short.database.pool.query("SELECT pg_sleep(3)") }
            await short.close()
        }
        #expect(try HeraldConfiguration.fromEnvironment(["HERALD_STATEMENT_TIMEOUT_MS": "1500"]).statementTimeout == .milliseconds(1500))
        #expect(throws: ConfigurationError.self) { try HeraldConfiguration.fromEnvironment(["HERALD_STATEMENT_TIMEOUT_MS": "0"]) }
    }

    // MARK: Housekeeping

    @Test("housekeeping purges expired idempotency keys, delivered events and remembered webhooks, on the clock")
    func housekeeping() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["messages"])
            try await herald.test { client in
                try await client.execute(uri: "/v1/messages", method: .post, headers: auth + [HTTPField.Name("Idempotency-Key")!: "k-1"],
                                         body: jsonBody(["to": "+14155550100", "body": "once"])) { response in
                    #expect(response.status == .accepted)
                }
            }
            let now = herald.clock.now
            try await herald.pool.query(
                """
                INSERT INTO event_deliveries (type, payload, status, delivered_at)
                VALUES ('message.sent', '{}', 'delivered', \(now)), ('message.failed', '{}', 'failed', NULL)
                """)
            try await herald.pool.query(
                "INSERT INTO webhook_replays (provider_id, digest, seen_at) VALUES (gen_random_uuid(), '\\x01', \(now))")
            func count(_ table: String) async throws -> Int {
                try await herald.pool.query("SELECT count(*)::int FROM \(unsafeSQL: table)")[0].decode(0)
            }
            await herald.core.workers.housekeeping.purge()
            #expect(try await count("idempotency_keys") == 1, "nothing has expired yet")
            #expect(try await count("event_deliveries") == 2)
            #expect(try await count("webhook_replays") == 1)
            herald.clock.advance(by: .seconds(8 * 24 * 3600))
            await herald.core.workers.housekeeping.purge()
            #expect(try await count("idempotency_keys") == 0)
            #expect(try await count("event_deliveries") == 1, "failed events stay for review")
            #expect(try await count("webhook_replays") == 0)
        }
    }
}
