import Foundation
import Herald
import HeraldHTTP
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing

/// Rendering is bounded: no template and no variables a caller can send hold the server.
@Suite("Template limits over HTTP")
struct TemplateLimitsTests {
    /// `{"body": …, "variables": {"a": [item, item, …]}}` with `count` items, built as text (fast for big lists).
    static func preview(_ body: String, items count: Int, of item: String = "1") -> ByteBuffer {
        let list = "[" + Array(repeating: item, count: count).joined(separator: ",") + "]"
        return ByteBuffer(string: #"{"body": "\#(body)", "variables": {"a": \#(list)}}"#)
    }

    @Test("a viewer's sections over a 115,000-item list are refused at once, and /healthz answers meanwhile")
    func nestedSectionsOverHugeList() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.identity.createUser(email: "view@example.com", role: .viewer, password: "a long enough password")
            try await herald.test { client in
                let (cookie, csrf) = try await client.execute(
                    uri: "/auth/login", method: .post, headers: jsonHeaders,
                    body: jsonBody(["email": "view@example.com", "password": "a long enough password"])
                ) { response in
                    (String((response.headers[.setCookie] ?? "").split(separator: ";")[0]), response.json["csrf_token"] as! String)
                }
                let viewer: HTTPFields = [.cookie: cookie, .init("X-CSRF-Token")!: csrf] + jsonHeaders
                // The items are empty lists: what they are does not matter to the sections, and
                // empty lists decode without a thrown error each (a number costs three, and under
                // Swift Testing every thrown error records a backtrace), so the time measured here
                // is the template's, not JSON decoding's.
                let payload = Self.preview("{{#a}}{{#a}}{{/a}}{{/a}}", items: 115_000, of: "[]")

                // More requests at once than this machine has cores: before the fix each held a
                // thread of the cooperative pool for minutes, so nothing else could run.
                let clock = ContinuousClock()
                let start = clock.now
                try await withThrowingTaskGroup(of: (status: HTTPResponse.Status, code: String?, field: String?).self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            try await client.execute(uri: "/v1/templates/preview", method: .post, headers: viewer, body: payload) {
                                ($0.status, $0.errorCode, $0.errorField)
                            }
                        }
                    }
                    group.addTask {
                        try await client.execute(uri: "/healthz", method: .get) { ($0.status, nil, nil) }
                    }
                    var previews = 0
                    for try await result in group where result.status != .ok {
                        #expect(result.status == .badRequest)
                        #expect(result.code == "validation_failed")
                        #expect(result.field == "variables.a")
                        previews += 1
                    }
                    #expect(previews == 4, "four previews refused, /healthz answered 200")
                }
                #expect(clock.now - start < .seconds(5))
                try await client.execute(uri: "/healthz", method: .get) { response in
                    #expect(response.status == .ok)
                }
            }
        }
    }

    @Test("sections over lists within the cap that multiply past the budget are template_too_complex")
    func stepBudget() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["campaigns"]) + jsonHeaders
            try await herald.test { client in
                let clock = ContinuousClock()
                let start = clock.now
                // 1,000 × 1,000 passes printing nothing: within the list cap, far over the step budget.
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: Self.preview("{{#a}}{{#a}}{{/a}}{{/a}}", items: 1_000)
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorCode == "template_too_complex")
                    #expect(response.errorField == "variables")
                }
                #expect(clock.now - start < .seconds(5))
                // A list at the cap, walked once, is fine.
                try await client.execute(
                    uri: "/v1/templates/preview", method: .post, headers: auth,
                    body: Self.preview("Hi{{#a}}{{/a}}!", items: 1_000)
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.json["text"] as? String == "Hi!")
                }
            }
        }
    }

    @Test("POST /v1/messages refuses a list longer than the cap, naming the field")
    func messageWithTooLongList() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.templates.create(TemplateInput(name: "digest", body: "Hi {{name}}{{#items}}.{{/items}}"))
            let auth = try await herald.bearer(["messages"]) + jsonHeaders
            let items = Array(repeating: 1, count: 1_001)
            try await herald.test { client in
                try await client.execute(
                    uri: "/v1/messages", method: .post, headers: auth,
                    body: jsonBody(["to": "+14155550100", "template": "digest", "variables": ["name": "Mia", "items": items, "unused": ["x": items]]])
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorCode == "validation_failed")
                    #expect(response.errorField == "variables.items")
                }
                // A list the template does not print is refused all the same: variables are checked whole.
                try await client.execute(
                    uri: "/v1/messages", method: .post, headers: auth,
                    body: jsonBody(["to": "+14155550100", "template": "digest", "variables": ["name": "Mia", "items": [1, 2], "unused": ["x": items]]])
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(response.errorField == "variables.unused.x")
                }
                try await client.execute(
                    uri: "/v1/messages", method: .post, headers: auth,
                    body: jsonBody(["to": "+14155550100", "template": "digest", "variables": ["name": "Mia", "items": [1, 2, 3]]])
                ) { response in
                    #expect(response.status == .accepted)
                    #expect(response.json["body"] as? String == "Hi Mia...")
                }
            }
        }
    }
}
