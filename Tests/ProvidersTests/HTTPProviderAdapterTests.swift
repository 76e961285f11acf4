import Foundation
import SMS
import Providers
import Testing

private func httpConfig(_ url: String, _ extra: [String: JSONValue] = [:]) -> ProviderConfig {
    ProviderConfig(extra.merging(["url": .string(url)]) { first, _ in first })
}

private func httpConfigError(_ values: [String: JSONValue]) -> ProviderConfigError? {
    do {
        _ = try HTTPProviderAdapter(config: ProviderConfig(values))
        return nil
    } catch {
        return error
    }
}

private let messageID = UUID(uuidString: "E621E1F8-C36C-495A-93FC-0C247A3E6E5F")!

private func message(_ text: String = "Hello", from: String? = nil) -> OutgoingMessage {
    OutgoingMessage(id: messageID, to: "+4915112345678", from: from, text: text,
                    statusCallbackURL: "https://herald.example/webhooks/9/status?token=a&b=c")
}

private func webhook(_ body: String, contentType: String? = "application/json") -> WebhookRequest {
    WebhookRequest(method: "POST", url: "https://herald.example/webhooks/9/status?token=x",
                   headers: contentType.map { ["content-type": $0] } ?? [:], body: Array(body.utf8))
}

/// Texts that break naive templating: quotes, backslashes, newlines, emoji, form separators,
/// HTML specials and control characters.
private let hostileTexts = [
    "He said \"hi\"\n",
    "C:\\path\\to\\file \\\" \\n",
    "😀👍🏽 Grüße, ça va? 你好",
    "a&b=c+d%20e f",
    "<b>&amp;</b> 'quoted'",
    "tab\tcr\rnul\u{0}bell\u{7} line\u{2028}sep",
    "",
]

@Suite("Configurable HTTP adapter") struct HTTPProviderAdapterTests {
    // MARK: Configuration

    @Test("the url is required and checked, and bad method, content type, headers or id path are named")
    func configErrors() {
        #expect(httpConfigError([:])?.key == "url")
        #expect(httpConfigError(["url": .string("mailto:x@example.com")])?.key == "url")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "method": .string("DELETE")])?.key == "method")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "content_type": .string("xml")])?.key == "content_type")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "method": .string("GET"), "content_type": .string("json")])?.key == "content_type")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "headers": .string("Authorization: x")])?.key == "headers")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "headers": .object(["X-Key": .number(1)])])?.key == "headers")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "headers": .object(["X-Key": .string("a\r\nEvil: 1")])])?.key == "headers")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "headers": .object(["Bad Name": .string("v")])])?.key == "headers")
        #expect(httpConfigError(["url": .string("https://gw.example/send"), "id_path": .string("data..id")])?.key == "id_path")
    }

    @Test("a template that does not parse is refused on body with its position")
    func badTemplate() throws {
        let error = try #require(httpConfigError(["url": .string("https://gw.example/send"),
                                                  "body": .string("{\"to\":\"{{to}}\",\n\"text\":\"{{#text}}\"}")]))
        #expect(error.key == "body")
        #expect(error.message.contains("line 2"), "\(error.message)")
        #expect(error.message.contains("column"), "\(error.message)")
        let unclosed = try #require(httpConfigError(["url": .string("https://gw.example/send"), "body": .string("to={{to")]))
        #expect(unclosed.key == "body")
        #expect(unclosed.message.contains("line 1"), "\(unclosed.message)")
    }

    @Test("a JSON body template that cannot render valid JSON is refused on body", arguments: [
        #"{"to":{{to}}}"#,                // unquoted string value
        #"{"to":"{{to}}","#,              // truncated
        "to={{to}}&text={{text}}",        // a form template declared as JSON
    ])
    func invalidJSONTemplate(_ body: String) throws {
        let error = try #require(httpConfigError(["url": .string("https://gw.example/send"), "body": .string(body)]))
        #expect(error.key == "body")
    }

    @Test("form templates need not be JSON, and GET defaults to form")
    func formTemplates() throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send", ["content_type": .string("form"), "body": .string("to={{to}}")]))
        #expect(adapter.contentType == .form)
        #expect(try HTTPProviderAdapter(config: httpConfig("https://gw.example/send", ["method": .string("get")])).contentType == .form)
        #expect(try HTTPProviderAdapter(config: httpConfig("https://gw.example/send")).contentType == .json)
        #expect(try HTTPProviderAdapter(config: httpConfig("https://gw.example/send")).method == "POST")
    }

    @Test("webhooks use a URL token and voice is refused")
    func authenticationAndVoice() throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send"))
        #expect(adapter.webhookAuthentication == .urlToken)
        var voice = message()
        voice.channel = .voice
        #expect(throws: ProviderFailure(.rejected, code: "unsupported_channel", message: "the http provider type sends SMS only")) {
            _ = try adapter.voiceRequest(voice)
        }
    }

    // MARK: Sending over HTTP

    @Test("the default JSON body carries the five variables, with the configured headers sent as they are")
    func defaultJSON() async throws {
        try await LoopbackProvider.run(reply: { _ in .json(202, #"{"queued":true}"#) }) { provider in
            let adapter = try HTTPProviderAdapter(config: httpConfig(provider.baseURL + "/api/v1/sms", [
                "headers": .object(["Authorization": .string("Bearer s3cr3t"), "X-Tenant": .string("acme")]),
                "from": .string("Herald"),
            ]))
            let sent = message()
            let response = try await provider.send(try adapter.smsRequest(sent))
            #expect(adapter.interpret(response, for: sent) == .accepted(providerMessageID: "e621e1f8-c36c-495a-93fc-0c247a3e6e5f"))

            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/api/v1/sms")
            #expect(seen.header("content-type") == "application/json")
            #expect(seen.header("authorization") == "Bearer s3cr3t")
            #expect(seen.header("x-tenant") == "acme")
            let json = try seen.json()
            #expect(json.keys.sorted() == ["callback_url", "from", "message_id", "text", "to"])
            #expect(json["to"] as? String == "+4915112345678")
            #expect(json["from"] as? String == "Herald")
            #expect(json["text"] as? String == "Hello")
            #expect(json["message_id"] as? String == "e621e1f8-c36c-495a-93fc-0c247a3e6e5f")
            #expect(json["callback_url"] as? String == "https://herald.example/webhooks/9/status?token=a&b=c")
        }
    }

    @Test("a custom JSON template renders hostile text as valid JSON, never HTML-escaped", arguments: hostileTexts)
    func hostileJSON(_ text: String) async throws {
        try await LoopbackProvider.run(reply: { _ in .json(200, "{}") }) { provider in
            let adapter = try HTTPProviderAdapter(config: httpConfig(provider.baseURL + "/send", [
                "body": .string(#"{"to":"{{to}}","text":"{{text}}","raw":"{{{text}}}","meta":{"ref":"{{message_id}}","cb":"{{callback_url}}"}}"#),
            ]))
            _ = try await provider.send(try adapter.smsRequest(message(text)))
            let json = try #require(provider.requests.first).json()
            #expect(json["to"] as? String == "+4915112345678")
            #expect(json["text"] as? String == text)
            #expect(json["raw"] as? String == text)
            #expect((json["meta"] as? [String: Any])?["ref"] as? String == "e621e1f8-c36c-495a-93fc-0c247a3e6e5f")
            #expect((json["meta"] as? [String: Any])?["cb"] as? String == "https://herald.example/webhooks/9/status?token=a&b=c")
        }
    }

    @Test("the JSON escaping is exactly RFC 8259's, leaving non-ASCII as UTF-8")
    func escaping() {
        #expect(HTTPProviderAdapter.jsonEscape("He said \"hi\"\n") == #"He said \"hi\"\n"#)
        #expect(HTTPProviderAdapter.jsonEscape("a\\b\t\r\u{8}\u{C}\u{1}") == #"a\\b\t\r\b\f\u0001"#)
        #expect(HTTPProviderAdapter.jsonEscape("😀 ü <&>'") == "😀 ü <&>'")
        #expect(HTTPProviderAdapter.jsonEscape("\u{2028}") == #"\u2028"#)
    }

    @Test("a form template percent-encodes hostile text so the form decodes back to it", arguments: hostileTexts)
    func hostileForm(_ text: String) async throws {
        try await LoopbackProvider.run(reply: { _ in WireResponse(status: 200, body: Array("OK".utf8)) }) { provider in
            let adapter = try HTTPProviderAdapter(config: httpConfig(provider.baseURL + "/gw", [
                "content_type": .string("form"),
                "headers": .object(["X-Api-Key": .string("k1")]),
                "body": .string("user=herald&dest={{to}}&msg={{text}}&ref={{message_id}}&dlr={{{callback_url}}}"),
            ]))
            let sent = message(text)
            let response = try await provider.send(try adapter.smsRequest(sent))
            #expect(adapter.interpret(response, for: sent) == .accepted(providerMessageID: "e621e1f8-c36c-495a-93fc-0c247a3e6e5f"))
            let seen = try #require(provider.requests.first)
            #expect(seen.header("content-type") == "application/x-www-form-urlencoded")
            #expect(seen.header("x-api-key") == "k1")
            let form = try seen.form()
            #expect(form.map(\.0) == ["user", "dest", "msg", "ref", "dlr"])
            #expect(form.map(\.1) == ["herald", "+4915112345678", text, "e621e1f8-c36c-495a-93fc-0c247a3e6e5f",
                                      "https://herald.example/webhooks/9/status?token=a&b=c"])
        }
    }

    @Test("the default form body and a configured Content-Type header")
    func defaultForm() async throws {
        try await LoopbackProvider.run(reply: { _ in WireResponse(status: 201) }) { provider in
            let adapter = try HTTPProviderAdapter(config: httpConfig(provider.baseURL + "/gw", [
                "content_type": .string("form"), "method": .string("PUT"),
                "headers": .object(["Content-Type": .string("application/x-www-form-urlencoded; charset=utf-8")]),
            ]))
            _ = try await provider.send(try adapter.smsRequest(message("a&b", from: "ACME")))
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "PUT")
            #expect(seen.header("content-type") == "application/x-www-form-urlencoded; charset=utf-8")
            #expect(seen.headers.filter { $0.0 == "content-type" }.count == 1)
            let form = try seen.form()
            #expect(form.map(\.0) == ["to", "from", "text", "message_id", "callback_url"])
            #expect(form.map(\.1) == ["+4915112345678", "ACME", "a&b", "e621e1f8-c36c-495a-93fc-0c247a3e6e5f",
                                      "https://herald.example/webhooks/9/status?token=a&b=c"])
        }
    }

    @Test("GET sends the rendered form as the query string, after any query in the url")
    func getQuery() async throws {
        try await LoopbackProvider.run(reply: { _ in WireResponse(status: 200) }) { provider in
            let adapter = try HTTPProviderAdapter(config: httpConfig(provider.baseURL + "/send?apikey=k", [
                "method": .string("GET"), "body": .string("to={{to}}&text={{text}}"),
            ]))
            _ = try await provider.send(try adapter.smsRequest(message("hi & bye")))
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "GET")
            #expect(seen.path == "/send")
            #expect(seen.query == "apikey=k&to=%2B4915112345678&text=hi+%26+bye")
            #expect(seen.body.isEmpty)
        }
    }

    @Test("a template starting with a newline keeps it")
    func leadingNewline() throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send", ["body": .string("\n{\"text\":\"{{text}}\"}\n")]))
        #expect(String(decoding: try adapter.smsRequest(message()).body, as: UTF8.self) == "\n{\"text\":\"Hello\"}\n")
    }

    @Test("id_path finds the provider's id in objects and arrays", arguments: [
        ("data.id", #"{"data":{"id":"gw-77"}}"#, "gw-77"),
        ("messages.0.id", #"{"messages":[{"id":"m-1"},{"id":"m-2"}]}"#, "m-1"),
        ("messages.1.id", #"{"messages":[{"id":"m-1"},{"id":98765}]}"#, "98765"),
        ("id", #"{"id":12345678901234}"#, "12345678901234"),
    ])
    func idPath(_ path: String, _ reply: String, _ id: String) async throws {
        try await LoopbackProvider.run(reply: { _ in .json(200, reply) }) { provider in
            let adapter = try HTTPProviderAdapter(config: httpConfig(provider.baseURL + "/send", ["id_path": .string(path)]))
            let sent = message()
            let response = try await provider.send(try adapter.smsRequest(sent))
            #expect(adapter.interpret(response, for: sent) == .accepted(providerMessageID: id))
            #expect(adapter.interpret(response, channel: .sms) == .accepted(providerMessageID: id))
        }
    }

    @Test("a 2xx answer without the configured id is not taken as accepted")
    func missingID() throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send", ["id_path": .string("data.id")]))
        for body in ["", "not json", #"{"data":{}}"#, #"{"data":{"id":null}}"#, #"{"data":[1]}"#] {
            guard case .failed(let failure, nil) = adapter.interpret(.json(200, body), for: message()) else {
                Issue.record("expected a failure for \(body)")
                continue
            }
            #expect(failure.code == "invalid_response")
        }
    }

    @Test("429 is throttled with Retry-After, 5xx unavailable, other statuses rejected with the status as code")
    func classification() async throws {
        let cases: [(WireResponse, ProviderFailure.Category, String, Duration?)] = [
            (WireResponse(status: 429, headers: ["Retry-After": "9"], body: Array("slow down".utf8)), .throttled, "429", .seconds(9)),
            (WireResponse(status: 429), .throttled, "429", nil),
            (WireResponse(status: 503, headers: ["Retry-After": "4"]), .unavailable, "503", .seconds(4)),
            (WireResponse(status: 500, body: Array("boom".utf8)), .unavailable, "500", nil),
            (.json(400, #"{"error":"bad number"}"#), .rejected, "400", nil),
            (WireResponse(status: 401), .rejected, "401", nil),
            (WireResponse(status: 404), .rejected, "404", nil),
        ]
        for (reply, category, code, retryAfter) in cases {
            try await LoopbackProvider.run(reply: { _ in reply }) { provider in
                let adapter = try HTTPProviderAdapter(config: httpConfig(provider.baseURL + "/send"))
                let sent = message()
                let outcome = adapter.interpret(try await provider.send(try adapter.smsRequest(sent)), for: sent)
                guard case .failed(let failure, let after) = outcome else {
                    Issue.record("expected a failure for \(code), got \(outcome)")
                    return
                }
                #expect(failure.category == category, "\(code)")
                #expect(failure.code == code)
                #expect(after == retryAfter, "\(code)")
            }
        }
        let body = String(repeating: "x", count: 1000)
        guard case .failed(let failure, _) = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send"))
            .interpret(WireResponse(status: 400, body: Array(body.utf8)), channel: .sms) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.message.count < 300)
    }

    // MARK: Webhooks

    @Test("status webhooks in Herald's format, as JSON or form, give receipts")
    func receipts() throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send"))
        #expect(try adapter.receipts(webhook(#"{"message_id":"e621e1f8-c36c-495a-93fc-0c247a3e6e5f","status":"delivered"}"#))
                == [DeliveryReceipt(providerMessageID: "e621e1f8-c36c-495a-93fc-0c247a3e6e5f", status: .delivered, providerStatus: "delivered")])
        #expect(try adapter.receipts(webhook(#"{"provider_message_id":"gw-77","message_id":"ignored","status":"UNDELIVERED","error_code":30003,"error_message":"Unreachable"}"#))
                == [DeliveryReceipt(providerMessageID: "gw-77", status: .undelivered, providerStatus: "UNDELIVERED",
                                    errorCode: "30003", errorMessage: "Unreachable")])
        #expect(try adapter.receipts(webhook("provider_message_id=gw-78&status=failed&error_code=E42", contentType: "application/x-www-form-urlencoded"))
                == [DeliveryReceipt(providerMessageID: "gw-78", status: .failed, providerStatus: "failed", errorCode: "E42")])
        #expect(try adapter.receipts(webhook("message_id=m1&status=sent", contentType: nil)).map(\.status) == [.sent])
        #expect(try adapter.receipts(webhook(#"[{"message_id":"a","status":"sent"},{"message_id":"b","status":"delivered"}]"#)).map(\.providerMessageID) == ["a", "b"])
    }

    @Test("malformed status webhooks throw", arguments: [
        ("", "application/json"), ("{", "application/json"), (#"{"status":"delivered"}"#, "application/json"),
        (#"{"message_id":"m"}"#, "application/json"), (#"{"message_id":"m","status":"read"}"#, "application/json"),
        ("status=delivered", "application/x-www-form-urlencoded"), ("message_id=%zz&status=sent", "application/x-www-form-urlencoded"),
        ("", "application/x-www-form-urlencoded"),
    ])
    func malformedReceipts(_ body: String, _ contentType: String) throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send"))
        #expect(throws: WebhookError.self) { _ = try adapter.receipts(webhook(body, contentType: contentType)) }
    }

    @Test("inbound webhooks in Herald's format, as JSON or form")
    func inbound() throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send"))
        #expect(try adapter.inbound(webhook(#"{"from":"+4915112345678","to":"+4930123456","text":"STOP","id":"in-1"}"#))
                == InboundMessage(providerMessageID: "in-1", from: "+4915112345678", to: "+4930123456", text: "STOP"))
        #expect(try adapter.inbound(webhook("from=%2B4915112345678&to=ACME&text=Hello+there", contentType: "application/x-www-form-urlencoded"))
                == InboundMessage(providerMessageID: nil, from: "+4915112345678", to: "ACME", text: "Hello there"))
    }

    @Test("malformed inbound webhooks throw", arguments: ["", "{}", #"{"from":"1","text":"x"}"#, "[1,2]", "text=hi"])
    func malformedInbound(_ body: String) throws {
        let adapter = try HTTPProviderAdapter(config: httpConfig("https://gw.example/send"))
        #expect(throws: WebhookError.self) { _ = try adapter.inbound(webhook(body, contentType: nil)) }
    }
}
