import Foundation
import Providers
import Testing

@Suite struct PlivoAdapterTests {
    static let authID = "MAXXXXXXXXXXXXXXXXXX"
    static let token = "my_auth_token"

    static func adapter(baseURL: String = "https://api.plivo.com") throws -> PlivoAdapter {
        try PlivoAdapter(config: Fixtures.config(["auth_id": authID, "auth_token": token, "from": "+14155550000", "base_url": baseURL]))
    }

    // MARK: Configuration

    @Test("config errors name the missing key")
    func configErrors() {
        expectConfigError("auth_id") { () throws(ProviderConfigError) in try PlivoAdapter(config: Fixtures.config(["auth_token": "t", "from": "+1"])) }
        expectConfigError("auth_token") { () throws(ProviderConfigError) in try PlivoAdapter(config: Fixtures.config(["auth_id": "MA1", "from": "+1"])) }
        expectConfigError("from") { () throws(ProviderConfigError) in try PlivoAdapter(config: Fixtures.config(["auth_id": "MA1", "auth_token": "t"])) }
        expectConfigError("base_url") { () throws(ProviderConfigError) in
            try PlivoAdapter(config: Fixtures.config(["auth_id": "MA1", "auth_token": "t", "from": "+1", "base_url": "https://"]))
        }
    }

    // MARK: Over real HTTP

    @Test("an SMS posts JSON src, dst, text, url and method to Message/ with basic auth")
    func smsOverHTTP() async throws {
        // plivo-python's `messageSendResponse.json` fixture.
        let queued = #"{"api_id":"948b53a2-3f08-11e7-b6f4-061564b78b75","message":"message(s) queued","message_uuid":["5b40a428-bfc7-4daf-9d06-726c558bf3b8"]}"#
        try await LoopbackProvider.run(reply: { _ in .json(202, queued) }) { provider in
            let adapter = try Self.adapter(baseURL: provider.baseURL)
            let response = try await provider.send(try adapter.smsRequest(Fixtures.message()))
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/v1/Account/\(Self.authID)/Message/")
            #expect(seen.header("authorization") == Fixtures.basic(Self.authID, Self.token))
            #expect(seen.header("content-type") == "application/json")
            let body = try seen.json()
            #expect(Set(body.keys) == ["src", "dst", "text", "url", "method"])
            #expect(body["src"] as? String == "+14155550000")
            #expect(body["dst"] as? String == "+4915112345678")
            #expect(body["text"] as? String == "Your code is 123456 & more")
            #expect(body["url"] as? String == Fixtures.callback)
            #expect(body["method"] as? String == "POST")
            #expect(adapter.interpret(response, channel: .sms) == .accepted(providerMessageID: "5b40a428-bfc7-4daf-9d06-726c558bf3b8"))
        }
    }

    @Test("a call posts answer and hang-up URLs, and Herald serves the Speak XML at the answer URL")
    func voiceOverHTTP() async throws {
        // plivo-python's `callCreateResponse.json` fixture.
        let fired = #"{"message":"call fired","request_uuid":"9834029e-58b6-11e1-b8b7-a5bd0e4e126f","api_id":"97ceeb52-58b6-11e1-86da-77300b68f8bb"}"#
        try await LoopbackProvider.run(reply: { _ in .json(201, fired) }) { provider in
            let adapter = try Self.adapter(baseURL: provider.baseURL)
            let response = try await provider.send(try adapter.voiceRequest(Fixtures.message(channel: .voice, locale: "de-DE")))
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/v1/Account/\(Self.authID)/Call/")
            #expect(seen.header("authorization") == Fixtures.basic(Self.authID, Self.token))
            #expect(seen.header("content-type") == "application/json")
            let body = try seen.json()
            #expect(body["from"] as? String == "+14155550000")
            #expect(body["to"] as? String == "+4915112345678")
            #expect(body["answer_url"] as? String == Fixtures.callback + "&kind=answer")
            #expect(body["answer_method"] as? String == "POST")
            #expect(body["hangup_url"] as? String == Fixtures.callback)
            #expect(body["hangup_method"] as? String == "POST")
            #expect(adapter.interpret(response, channel: .voice) == .accepted(providerMessageID: "9834029e-58b6-11e1-b8b7-a5bd0e4e126f"))
        }
        #expect(PlivoAdapter.answerURL(statusCallbackURL: "https://h.example/s") == "https://h.example/s?kind=answer")
        let answer = Fixtures.post(Fixtures.callback + "&kind=answer", form: [("CallUUID", "c1"), ("CallStatus", "in-progress")])
        #expect(PlivoAdapter.isAnswerRequest(answer))
        #expect(!PlivoAdapter.isAnswerRequest(Fixtures.post(Fixtures.callback, form: [])))
        #expect(PlivoAdapter.answerXML(text: "Code <1> & 2", locale: "de-DE")
            == #"<?xml version="1.0" encoding="utf-8"?><Response><Speak language="de-DE">Code &lt;1&gt; &amp; 2</Speak></Response>"#)
        #expect(PlivoAdapter.answerXML(text: "hi", locale: "tlh-QO") == #"<?xml version="1.0" encoding="utf-8"?><Response><Speak>hi</Speak></Response>"#)
    }

    @Test("errors keep the HTTP status as code; 400s naming dst are invalid numbers")
    func errorsOverHTTP() async throws {
        let cases: [(WireResponse, ProviderFailure.Category, Duration?)] = [
            (.json(400, #"{"api_id":"f1c2a1e4-0000-11e7-b6f4-061564b78b75","error":"invalid 'dst' parameter"}"#), .invalidNumber, nil),
            (.json(400, #"{"api_id":"f1c2a1e4-0000-11e7-b6f4-061564b78b75","error":"'src' parameter is not a Plivo number"}"#), .account, nil),
            (.json(400, #"{"api_id":"f1c2a1e4-0000-11e7-b6f4-061564b78b75","error":"text parameter is missing"}"#), .rejected, nil),
            (.json(401, #"{"api_id":"f1c2a1e4-0000-11e7-b6f4-061564b78b75","error":"Authentication credentials invalid"}"#), .account, nil),
            (.json(429, #"{"api_id":"f1c2a1e4-0000-11e7-b6f4-061564b78b75","error":"too many requests"}"#, headers: ["Retry-After": "5"]), .throttled, .seconds(5)),
            (WireResponse(status: 500), .unavailable, nil),
        ]
        for (reply, category, retryAfter) in cases {
            try await LoopbackProvider.run(reply: { _ in reply }) { provider in
                let adapter = try Self.adapter(baseURL: provider.baseURL)
                let response = try await provider.send(try adapter.smsRequest(Fixtures.message()))
                let (failure, retry) = try #require(failureOf(adapter.interpret(response, channel: .sms)))
                #expect(failure.category == category)
                #expect(failure.code == String(reply.status))
                #expect(retry == retryAfter)
            }
        }
        let (empty, _) = try #require(failureOf(try Self.adapter().interpret(.json(202, #"{"message_uuid":[]}"#), channel: .sms)))
        #expect(empty.category == .unavailable)
    }

    // MARK: Signatures

    /// Computed with plivo-python 4.63.0 (`plivo.utils.signature_v3`), auth token `my_auth_token`.
    static let nonce = "05429567804466091622"
    static let sdkVectors: [(method: String, url: String, params: [(String, String)], signature: String)] = [
        ("POST", "https://herald.example.com/webhooks/prv_1/status?token=abc&a=2",
         [("MessageUUID", "db3ce55a-7f1d-11e1-8ea7-1231380bc196"), ("Status", "delivered"), ("To", "14155551234"),
          ("From", "14155550000"), ("ErrorCode", "000")],
         "QoFvAey9p8UIjnrIN8rXCL6aPUfpULK9FkD/bwxeqdM="),
        ("POST", "https://herald.example.com/webhooks/prv_1/status",
         [("From", "14155551234"), ("To", "14155550000"), ("Text", "STOP please & thanks"), ("MessageUUID", "abc"), ("Type", "sms")],
         "EJKmuVNWzyYxU383+NtqRyD7pIAnwZMpr5XsqR94HMk="),
        ("GET", "https://herald.example.com/webhooks/prv_1/status?Status=sent&MessageUUID=xyz&b=1", [],
         "VkrLFGt6K/NzAS3PZVl0LxtFlGCaeHuuthgVH2o0E2g="),
    ]

    @Test("V3 signatures match plivo-python's for POST with and without a query, and GET")
    func sdkVectorsHold() throws {
        let adapter = try Self.adapter()
        #expect(PlivoSignature.signedString(method: "POST", url: Self.sdkVectors[0].url, parameters: Self.sdkVectors[0].params, nonce: Self.nonce)
            == "https://herald.example.com/webhooks/prv_1/status?a=2&token=abc.ErrorCode000From14155550000MessageUUIDdb3ce55a-7f1d-11e1-8ea7-1231380bc196StatusdeliveredTo14155551234.05429567804466091622")
        for vector in Self.sdkVectors {
            #expect(PlivoSignature.signature(method: vector.method, url: vector.url, parameters: vector.params, nonce: Self.nonce, authToken: Self.token) == vector.signature)
            let request = WebhookRequest(method: vector.method, url: vector.url,
                                         headers: ["X-Plivo-Signature-V3": vector.signature, "X-Plivo-Signature-V3-Nonce": Self.nonce],
                                         body: vector.method == "POST" ? Fixtures.form(vector.params) : [])
            #expect(adapter.verifySignature(request, now: Date()), "\(vector.method) \(vector.url)")
        }
    }

    @Test("any one of several comma-separated signatures is enough; tampering breaks it")
    func severalSignaturesAndTampering() throws {
        let adapter = try Self.adapter()
        let vector = Self.sdkVectors[1]
        func request(url: String = vector.url, params: [(String, String)] = vector.params, signature: String = vector.signature,
                     nonce: String = Self.nonce) -> WebhookRequest {
            Fixtures.post(url, form: params, headers: ["X-Plivo-Signature-V3": signature, "X-Plivo-Signature-V3-Nonce": nonce])
        }
        #expect(adapter.verifySignature(request(signature: "bm90IGl0=," + vector.signature), now: Date()))
        #expect(adapter.verifySignature(request(signature: vector.signature + ", bm90IGl0="), now: Date()))
        #expect(!adapter.verifySignature(request(signature: "bm90IGl0="), now: Date()))
        #expect(!adapter.verifySignature(request(url: vector.url + "?x=1"), now: Date()))
        #expect(!adapter.verifySignature(request(nonce: "1"), now: Date()))
        #expect(!adapter.verifySignature(request(params: vector.params + [("Extra", "1")]), now: Date()))
        #expect(!adapter.verifySignature(Fixtures.post(vector.url, form: vector.params), now: Date()))
        // Round trip with our own signer and a body full of characters that need escaping.
        let params = [("Text", "a&b=c ü +"), ("From", "14155551234"), ("Text", "second")]
        let url = "https://herald.example.com/webhooks/prv_1/inbound?t=tok%20x"
        let signature = try #require(PlivoSignature.signature(method: "POST", url: url, parameters: params, nonce: "n1", authToken: Self.token))
        #expect(adapter.verifySignature(request(url: url, params: params, signature: signature, nonce: "n1"), now: Date()))
    }

    @Test("receipts read the body as the form the signature covers, whatever the unsigned Content-Type says")
    func bodyReadAsSigned() throws {
        let adapter = try Self.adapter()
        // The signature covers one form parameter whose name happens to be JSON. Read as JSON
        // because of a header nobody signed, it would become a receipt for another message.
        let body = #"{"MessageUUID":"victim","Status":"delivered"}"#
        let signature = try #require(PlivoSignature.signature(method: "POST", url: Fixtures.callback, parameters: [(body, "")],
                                                              nonce: Self.nonce, authToken: Self.token))
        let request = Fixtures.postJSON(Fixtures.callback, body, headers: ["X-Plivo-Signature-V3": signature,
                                                                           "X-Plivo-Signature-V3-Nonce": Self.nonce])
        #expect(adapter.verifySignature(request, now: Date()))
        #expect(throws: WebhookError.self) { try adapter.receipts(request) }
        #expect(throws: WebhookError.self) { try adapter.inbound(request) }
        // A form body marked as JSON is still the signed form.
        let mislabelled = WebhookRequest(method: "POST", url: Fixtures.callback, headers: ["content-type": "application/json"],
                                         body: Fixtures.form([("MessageUUID", "m1"), ("Status", "delivered")]))
        #expect(try adapter.receipts(mislabelled) == [DeliveryReceipt(providerMessageID: "m1", status: .delivered, providerStatus: "delivered")])
    }

    // MARK: Webhooks

    @Test("message status callbacks map Plivo's statuses and keep a real ErrorCode")
    func messageReceipts() throws {
        let adapter = try Self.adapter()
        let body = [("To", "14155551234"), ("From", "14155550000"), ("Status", "delivered"),
                    ("MessageUUID", "5b40a428-bfc7-4daf-9d06-726c558bf3b8"), ("ParentMessageUUID", "5b40a428-bfc7-4daf-9d06-726c558bf3b8"),
                    ("PartInfo", "1 of 1"), ("TotalRate", "0.0050"), ("TotalAmount", "0.0050"), ("Units", "1"),
                    ("MCC", "310"), ("MNC", "004"), ("ErrorCode", "000")]
        #expect(try adapter.receipts(Fixtures.post(Fixtures.callback, form: body))
            == [DeliveryReceipt(providerMessageID: "5b40a428-bfc7-4daf-9d06-726c558bf3b8", status: .delivered, providerStatus: "delivered")])
        let words: [String: ReceiptStatus] = ["queued": .pending, "sent": .sent, "delivered": .delivered,
                                              "undelivered": .undelivered, "failed": .failed, "rejected": .failed]
        for (word, status) in words {
            let receipt = try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("MessageUUID", "m1"), ("Status", word), ("ErrorCode", "50")]))
            #expect(receipt == [DeliveryReceipt(providerMessageID: "m1", status: status, providerStatus: word, errorCode: "50")])
        }
    }

    @Test("hang-up callbacks are receipts for the call's request uuid")
    func callReceipts() throws {
        let adapter = try Self.adapter()
        let completed = [("CallUUID", "e7a0e9f4-58b6-11e1-9b57-b5ad6c1b0d6c"), ("RequestUUID", "9834029e-58b6-11e1-b8b7-a5bd0e4e126f"),
                         ("CallStatus", "completed"), ("HangupCause", "NORMAL_CLEARING"), ("Duration", "12"), ("Direction", "outbound")]
        #expect(try adapter.receipts(Fixtures.post(Fixtures.callback, form: completed))
            == [DeliveryReceipt(providerMessageID: "9834029e-58b6-11e1-b8b7-a5bd0e4e126f", status: .delivered, providerStatus: "completed")])
        let busy = try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("RequestUUID", "r1"), ("CallStatus", "busy"), ("HangupCause", "USER_BUSY")]))
        #expect(busy == [DeliveryReceipt(providerMessageID: "r1", status: .undelivered, providerStatus: "busy", errorCode: "USER_BUSY")])
        for (word, status) in [("no-answer", ReceiptStatus.undelivered), ("timeout", .undelivered), ("failed", .failed), ("in-progress", .pending)] {
            #expect(try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("RequestUUID", "r1"), ("CallStatus", word)])).first?.status == status)
        }
    }

    @Test("malformed callbacks throw")
    func malformed() throws {
        let adapter = try Self.adapter()
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("Status", "sent")])) }
        #expect(throws: WebhookError.self) { try adapter.receipts(WebhookRequest(method: "POST", url: Fixtures.callback, headers: [:], body: Array("Status=%G1".utf8))) }
        #expect(throws: WebhookError.self) { try adapter.inbound(Fixtures.post(Fixtures.callback, form: [("Text", "hi")])) }
    }

    @Test("an inbound SMS gets plus signs on its numbers")
    func inboundMessage() throws {
        let adapter = try Self.adapter()
        let body = [("From", "14155551234"), ("To", "14155550000"), ("Text", "STOP"), ("Type", "sms"),
                    ("MessageUUID", "27a5e4d4-7ef2-11e1-8a12-1231380bc196")]
        #expect(try adapter.inbound(Fixtures.post("https://herald.example.com/webhooks/prv_1/inbound", form: body))
            == InboundMessage(providerMessageID: "27a5e4d4-7ef2-11e1-8a12-1231380bc196", from: "+14155551234", to: "+14155550000", text: "STOP"))
    }
}
