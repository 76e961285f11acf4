import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import Testing

@Suite("HTTP basics: health, metrics, static files, error format")
struct HTTPBasicsTests {
    @Test("healthz and readyz answer 200 with the database up")
    func health() async throws {
        try await TestHerald.with { herald in
            try await herald.test { client in
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["status"] as? String == "ok")
                    #expect(response.headers[.init("X-Request-Id")!] != nil)
                }
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test("readyz answers 503 with a reason when the database is unreachable")
    func readyzDown() async throws {
        var options = HeraldCore.Options()
        options.passwordCost = 4
        let core = try HeraldCore(
            configuration: HeraldConfiguration(port: 0, databasePoolSize: 1),
            database: PostgresConfiguration(conninfo: "host=/nonexistent-socket-dir dbname=x", connectTimeout: .seconds(1)),
            secret: ServerSecret(testSecret), resourceDirectory: repositoryRoot, options: options, logger: testLogger)
        let app = try buildApplication(core, logger: testLogger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.errorCode == "database_unavailable")
                #expect(response.headers[.retryAfter] != nil)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            // An authenticated call that needs the database: 503, never 500.
            try await client.execute(
                uri: "/v1/api-keys", method: .get, headers: [.authorization: "Bearer hk_0000000000000000000000000000000000000000"]
            ) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.errorCode == "database_unavailable")
            }
        }
        await core.close()
    }

    @Test("metrics count requests by route and status, and show pool usage")
    func metrics() async throws {
        try await TestHerald.with { herald in
            try await herald.test { client in
                _ = try await client.execute(uri: "/healthz", method: .get)
                _ = try await client.execute(uri: "/no/such/thing?to=+15551234567", method: .get)
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok)
                    let text = response.text
                    #expect(text.contains(#"herald_http_requests_total{route="/healthz",method="GET",status="200"} 1"#))
                    #expect(text.contains(#"route="unmatched""#))
                    #expect(text.contains("herald_http_request_duration_seconds_bucket"))
                    #expect(text.contains("herald_db_pool_connections_max 4"))
                    #expect(!text.contains("5551234567"), "raw paths and queries never reach metric labels")
                }
            }
        }
    }

    @Test("the OpenAPI document and the login page are served")
    func staticFiles() async throws {
        try await TestHerald.with { herald in
            try await herald.test { client in
                try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.text.hasPrefix("openapi: 3"))
                    #expect(response.text.contains("/v1/api-keys/{id}"))
                }
                try await client.execute(uri: "/", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.text.contains("<form id=\"login-form\""))
                    #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
                }
                try await client.execute(uri: "/app.js", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.text.contains("/auth/login"))
                }
            }
        }
    }

    @Test("unknown routes are 404 not_found, wrong methods 405 with Allow")
    func routing() async throws {
        try await TestHerald.with { herald in
            try await herald.test { client in
                for uri in ["/nope", "/v1/nope", "/v1/api-keys/x/y", "/../../etc/passwd", "/%00"] {
                    try await client.execute(uri: uri, method: .get) { response in
                        #expect(response.status == .notFound, "\(uri)")
                        #expect(response.errorCode == "not_found", "\(uri)")
                    }
                }
                try await client.execute(uri: "/healthz", method: .post) { response in
                    #expect(response.status == .methodNotAllowed)
                    #expect(response.errorCode == "method_not_allowed")
                    #expect(response.headers[.allow]?.contains("GET") == true)
                }
                try await client.execute(uri: "/v1/api-keys/123", method: .get) { response in
                    #expect(response.status == .methodNotAllowed)
                    #expect(response.headers[.allow] == "DELETE")
                }
            }
        }
    }

    @Test("bad bodies get the documented errors, never a 500")
    func badBodies() async throws {
        try await TestHerald.with { herald in
            let admin = try await herald.bearer()
            try await herald.test { client in
                let cases: [(String, ByteBuffer, HTTPResponse.Status, String, String?)] = [
                    ("bad JSON", ByteBuffer(string: "{\"name\": "), .badRequest, "invalid_json", nil),
                    ("empty body", ByteBuffer(), .badRequest, "invalid_json", nil),
                    ("not an object", ByteBuffer(string: "[1,2]"), .badRequest, "validation_failed", nil),
                    ("missing field", jsonBody(["name": "x"]), .badRequest, "validation_failed", "scopes"),
                    ("wrong type", jsonBody(["name": 5, "scopes": ["admin"]]), .badRequest, "validation_failed", "name"),
                    ("wrong element type", jsonBody(["name": "x", "scopes": [1]]), .badRequest, "validation_failed", "scopes[0]"),
                    ("null", jsonBody(["name": NSNull(), "scopes": ["admin"]]), .badRequest, "validation_failed", "name"),
                    ("unknown scope", jsonBody(["name": "x", "scopes": ["root"]]), .badRequest, "validation_failed", "scopes[0]"),
                    ("no scopes", jsonBody(["name": "x", "scopes": []]), .badRequest, "validation_failed", "scopes"),
                    ("blank name", jsonBody(["name": "  ", "scopes": ["admin"]]), .badRequest, "validation_failed", "name"),
                    ("huge body", ByteBuffer(repeating: UInt8(ascii: "a"), count: 2 << 20), .contentTooLarge, "payload_too_large", nil),
                    ("invalid UTF-8", ByteBuffer(bytes: [0x7B, 0xFF, 0xFE, 0x7D]), .badRequest, "invalid_json", nil),
                ]
                for (label, body, status, code, field) in cases {
                    try await client.execute(uri: "/v1/api-keys", method: .post, headers: admin + jsonHeaders, body: body) { response in
                        #expect(response.status == status, "\(label)")
                        #expect(response.errorCode == code, "\(label)")
                        #expect(response.errorField == field, "\(label)")
                    }
                }
                try await client.execute(
                    uri: "/v1/api-keys", method: .post, headers: admin + [.contentType: "text/plain"], body: jsonBody(["name": "x"])
                ) { response in
                    #expect(response.status == .unsupportedMediaType)
                    #expect(response.errorCode == "unsupported_media_type")
                }
                for query in ["limit=0", "limit=501", "limit=abc", "cursor=%%%", "cursor=bm90LWEtY3Vyc29y"] {
                    try await client.execute(uri: "/v1/api-keys?\(query)", method: .get, headers: admin) { response in
                        #expect(response.status == .badRequest, "\(query)")
                        #expect(response.errorCode == "validation_failed", "\(query)")
                    }
                }
            }
        }
    }
}
