import Foundation
import SMS
import Providers
import Testing

private func sinchConfig(_ baseURL: String? = nil, secret: String? = nil, from: String? = "Herald") -> ProviderConfig {
    var values: [String: JSONValue] = ["service_plan_id": .string("plan_42"), "api_token": .string("tok-123")]
    if let baseURL { values["base_url"] = .string(baseURL) }
    if let secret { values["webhook_secret"] = .string(secret) }
    if let from { values["from"] = .string(from) }
    return ProviderConfig(values)
}

private func sinchConfigError(_ values: [String: JSONValue]) -> ProviderConfigError? {
    do {
        _ = try SinchAdapter(config: ProviderConfig(values))
        return nil
    } catch {
        return error
    }
}

private let messageID = UUID(uuidString: "0F8FAD5B-D9CB-469F-A165-70867728950E")!

private func sms(_ text: String = "Your code is 123456", from: String? = nil) -> OutgoingMessage {
    OutgoingMessage(id: messageID, to: "+15551231234", from: from, text: text,
                    statusCallbackURL: "https://herald.example/webhooks/7/status")
}

private func webhook(_ body: String, headers: [String: String] = ["content-type": "application/json"]) -> WebhookRequest {
    WebhookRequest(method: "POST", url: "https://herald.example/webhooks/7/status", headers: headers, body: Array(body.utf8))
}

@Suite("Sinch adapter") struct SinchAdapterTests {
    // MARK: Configuration

    @Test("a missing service plan id or api token is named in the error")
    func missingKeys() {
        #expect(sinchConfigError(["api_token": .string("t")])?.key == "service_plan_id")
        #expect(sinchConfigError(["service_plan_id": .string("p")])?.key == "api_token")
        #expect(sinchConfigError(["service_plan_id": .string("p/../x"), "api_token": .string("t")])?.key == "service_plan_id")
        #expect(sinchConfigError(["service_plan_id": .string("p"), "api_token": .string("t"), "base_url": .string("ftp://x")])?.key == "base_url")
    }

    @Test("the US region is the default and a regional base url is kept without its trailing slash")
    func regions() throws {
        #expect(try SinchAdapter(config: sinchConfig()).baseURL == "https://us.sms.api.sinch.com")
        #expect(try SinchAdapter(config: sinchConfig("https://eu.sms.api.sinch.com/")).baseURL == "https://eu.sms.api.sinch.com")
    }

    @Test("webhooks are signed only when a webhook secret is configured")
    func webhookAuthentication() throws {
        #expect(try SinchAdapter(config: sinchConfig()).webhookAuthentication == .urlToken)
        #expect(try SinchAdapter(config: sinchConfig(secret: "s3cret")).webhookAuthentication == .signature)
        #expect(try SinchAdapter(config: sinchConfig()).verifySignature(webhook("{}"), now: Date()) == false)
    }

    // MARK: Sending over HTTP

    @Test("an SMS is a JSON batch posted with the bearer token, and 201 gives the batch id")
    func sendsBatch() async throws {
        // The 201 body from Sinch's "Send" reference (mt_text batch).
        let reply = #"{"id":"01FC66621XXXXX119Z8PMV1QPQ","to":["15551231234"],"from":"Herald","canceled":false,"body":"Your code is 123456","type":"mt_text","created_at":"2019-08-24T14:15:22Z","modified_at":"2019-08-24T14:15:22Z","delivery_report":"per_recipient","callback_url":"https://herald.example/webhooks/7/status","client_reference":"0f8fad5b-d9cb-469f-a165-70867728950e"}"#
        try await LoopbackProvider.run(reply: { _ in .json(201, reply) }) { provider in
            let adapter = try SinchAdapter(config: sinchConfig(provider.baseURL))
            let response = try await provider.send(try adapter.smsRequest(sms()))
            #expect(adapter.interpret(response, channel: .sms) == .accepted(providerMessageID: "01FC66621XXXXX119Z8PMV1QPQ"))

            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/xms/v1/plan_42/batches")
            #expect(seen.query == nil)
            #expect(seen.header("authorization") == "Bearer tok-123")
            #expect(seen.header("content-type") == "application/json")
            #expect(seen.header("accept") == "application/json")
            let json = try seen.json()
            #expect(Set(json.keys) == ["from", "to", "body", "delivery_report", "callback_url", "client_reference"])
            #expect(json["from"] as? String == "Herald")
            #expect(json["to"] as? [String] == ["+15551231234"])
            #expect(json["body"] as? String == "Your code is 123456")
            #expect(json["delivery_report"] as? String == "per_recipient")
            #expect(json["callback_url"] as? String == "https://herald.example/webhooks/7/status")
            #expect(json["client_reference"] as? String == "0f8fad5b-d9cb-469f-a165-70867728950e")
        }
    }

    @Test("a per-message sender overrides the configured one, and no sender at all leaves from out")
    func senders() throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        let overridden = try #require(try JSONSerialization.jsonObject(with: Data(adapter.smsRequest(sms(from: "ACME")).body)) as? [String: Any])
        #expect(overridden["from"] as? String == "ACME")
        let bare = try SinchAdapter(config: sinchConfig(from: nil))
        let none = try #require(try JSONSerialization.jsonObject(with: Data(bare.smsRequest(sms()).body)) as? [String: Any])
        #expect(none["from"] == nil)
    }

    @Test("hostile text travels as a valid JSON string", arguments: ["He said \"hi\"\n", "back\\slash", "😀 ünï & = <b>", "\u{1}\u{7F}"])
    func hostileText(_ text: String) async throws {
        try await LoopbackProvider.run(reply: { _ in .json(201, #"{"id":"b1"}"#) }) { provider in
            let adapter = try SinchAdapter(config: sinchConfig(provider.baseURL))
            _ = try await provider.send(try adapter.smsRequest(sms(text)))
            let seen = try #require(provider.requests.first)
            #expect(try seen.json()["body"] as? String == text)
        }
    }

    @Test("documented 400 and 403 codes, 401, 429 and 5xx are classified, keeping Sinch's code and Retry-After")
    func errors() async throws {
        let cases: [(WireResponse, ProviderFailure.Category, String, Duration?)] = [
            (.json(400, #"{"code":"syntax_invalid_parameter_format","text":"Invalid MSISDN format"}"#), .rejected, "syntax_invalid_parameter_format", nil),
            (.json(400, #"{"code":"syntax_constraint_violation","text":"body is required"}"#), .rejected, "syntax_constraint_violation", nil),
            (.json(403, #"{"code":"blocked_account","text":"Your account has been blocked"}"#), .account, "blocked_account", nil),
            (.json(403, #"{"code":"illegal_number_type","text":"Illegal number type"}"#), .invalidNumber, "illegal_number_type", nil),
            (.json(403, #"{"code":"missing_callback_url","text":"Callback requested without URL"}"#), .rejected, "missing_callback_url", nil),
            (WireResponse(status: 401, body: Array("Unauthorized".utf8)), .account, "401", nil),
            (.json(429, #"{"code":"too_many_requests","text":"Too many requests"}"#, headers: ["retry-after": "7"]), .throttled, "too_many_requests", .seconds(7)),
            (WireResponse(status: 503, headers: ["Retry-After": "3"]), .unavailable, "503", .seconds(3)),
            (WireResponse(status: 500), .unavailable, "500", nil),
        ]
        for (reply, category, code, retryAfter) in cases {
            try await LoopbackProvider.run(reply: { _ in reply }) { provider in
                let adapter = try SinchAdapter(config: sinchConfig(provider.baseURL))
                let outcome = adapter.interpret(try await provider.send(try adapter.smsRequest(sms())), channel: .sms)
                guard case .failed(let failure, let after) = outcome else {
                    Issue.record("expected a failure for \(reply.status), got \(outcome)")
                    return
                }
                #expect(failure.category == category, "\(code)")
                #expect(failure.code == code)
                #expect(after == retryAfter, "\(code)")
            }
        }
    }

    @Test("a 2xx answer without a batch id is not taken as accepted")
    func acceptedWithoutID() throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        guard case .failed(let failure, _) = adapter.interpret(.json(201, "{}"), channel: .sms) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.code == "invalid_response")
    }

    @Test("voice is refused as an unsupported channel")
    func voice() throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        var message = sms()
        message.channel = .voice
        #expect(throws: ProviderFailure(.rejected, code: "unsupported_channel",
                                        message: "Sinch voice needs a Voice API application key and secret, which the sinch provider type does not configure")) {
            _ = try adapter.voiceRequest(message)
        }
    }

    // MARK: Signatures

    /// The SMS callback vector from sinch-sdk-java (`SinchEventsServiceTest.checkApplicationAuthentication`).
    static let smsVectorBody = #"{"at":"2025-01-13T09:22:40.914Z","batch_id":"01JHFFHQ0P99JPPNQPJDV7JTBP","client_reference":"a client reference","code":0,"operator_status_at":"2025-01-13T09:22:00Z","recipient":"33662162466","status":"Delivered","type":"recipient_delivery_report_sms"}"#
    static let smsVectorHeaders = [
        "x-sinch-webhook-signature": "ZoHei66PPN/kZjw7hFVfGhJOnml3iGNCMWoyQVcE5o0=",
        "x-sinch-webhook-signature-algorithm": "HmacSHA256",
        "x-sinch-webhook-signature-nonce": "01JHFFHWYY7HSS4FWTMDTQEK8V",
        "x-sinch-webhook-signature-timestamp": "1736760161",
    ]

    @Test("the published Sinch SMS callback vector verifies, through the adapter too")
    func smsVector() throws {
        let now = Date(timeIntervalSince1970: 1_736_760_161)
        let body = Array(Self.smsVectorBody.utf8)
        #expect(SinchSignature.signature(body: body, nonce: "01JHFFHWYY7HSS4FWTMDTQEK8V", timestamp: "1736760161",
                                         secret: "SMSWebhooksSecret") == "ZoHei66PPN/kZjw7hFVfGhJOnml3iGNCMWoyQVcE5o0=")
        #expect(SinchSignature.isValid(body: body, headers: Self.smsVectorHeaders, secret: "SMSWebhooksSecret", now: now))
        let adapter = try SinchAdapter(config: sinchConfig(secret: "SMSWebhooksSecret"))
        var headers = Self.smsVectorHeaders
        headers["Content-Type"] = "application/json"
        #expect(adapter.verifySignature(webhook(Self.smsVectorBody, headers: headers), now: now))
        #expect(!adapter.verifySignature(webhook(Self.smsVectorBody + " ", headers: headers), now: now))
    }

    @Test("the published Conversation API vector (same scheme) verifies")
    func conversationVector() {
        let body = #"{"app_id":"","accepted_time":"2021-10-18T17:49:13.813615Z","project_id":"e2df3a34-a71b-4448-9db5-a8d2baad28e4","contact_create_notification":{"contact":{"id":"01FJA8B466Y0R2GNXD78MD9SM1","channel_identities":[{"channel":"SMS","identity":"48123456789","app_id":""}],"display_name":"New Test Contact","email":"new.contact@email.com","external_id":"","metadata":"","language":"EN_US"}},"message_metadata":""}"#
        #expect(SinchSignature.signature(body: Array(body.utf8), nonce: "01FJA8B4A7BM43YGWSG9GBV067", timestamp: "1634579353",
                                         secret: "foo_secret1234") == "6bpJoRmFoXVjfJIVglMoJzYXxnoxRujzR4k2GOXewOE=")
    }

    @Test("a signature made now verifies, and tampering, another secret, a stale or future timestamp or a missing header fail")
    func roundTrip() throws {
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let body = Array(#"{"type":"mo_text","id":"m1","from":"15551231234","to":"12345","body":"STOP"}"#.utf8)
        let headers = SinchSignature.headers(body: body, secret: "s3cret", nonce: "01NONCE", timestamp: now)
        #expect(headers["x-sinch-webhook-signature-timestamp"] == "1750000000")
        #expect(SinchSignature.isValid(body: body, headers: headers, secret: "s3cret", now: now))
        #expect(SinchSignature.isValid(body: body, headers: headers, secret: "s3cret", now: now.addingTimeInterval(299)))
        #expect(!SinchSignature.isValid(body: body, headers: headers, secret: "s3cret", now: now.addingTimeInterval(301)))
        #expect(!SinchSignature.isValid(body: body, headers: headers, secret: "s3cret", now: now.addingTimeInterval(-301)))
        #expect(!SinchSignature.isValid(body: body + [0x20], headers: headers, secret: "s3cret", now: now))
        #expect(!SinchSignature.isValid(body: body, headers: headers, secret: "other", now: now))
        for name in [SinchSignature.signatureHeader, SinchSignature.nonceHeader, SinchSignature.timestampHeader] {
            var missing = headers
            missing[name] = nil
            #expect(!SinchSignature.isValid(body: body, headers: missing, secret: "s3cret", now: now), "\(name)")
        }
        var otherNonce = headers
        otherNonce[SinchSignature.nonceHeader] = "01OTHER"
        #expect(!SinchSignature.isValid(body: body, headers: otherNonce, secret: "s3cret", now: now))
        var unknownAlgorithm = headers
        unknownAlgorithm[SinchSignature.algorithmHeader] = "HmacMD5"
        #expect(!SinchSignature.isValid(body: body, headers: unknownAlgorithm, secret: "s3cret", now: now))

        let sha512 = SinchSignature.headers(body: body, secret: "s3cret", nonce: "n", timestamp: now, algorithm: .hmacSHA512)
        #expect(SinchSignature.isValid(body: body, headers: sha512, secret: "s3cret", now: now))

        let adapter = try SinchAdapter(config: sinchConfig(secret: "s3cret"))
        #expect(adapter.verifySignature(WebhookRequest(method: "POST", url: "https://h.example/x", headers: headers, body: body), now: now))
        #expect(!adapter.verifySignature(WebhookRequest(method: "POST", url: "https://h.example/x", headers: [:], body: body), now: now))
    }

    // MARK: Receipts and inbound

    @Test("a per-recipient delivery report gives the batch id, status, code and time")
    func recipientReport() throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        let delivered = try adapter.receipts(webhook(Self.smsVectorBody))
        #expect(delivered.count == 1)
        let receipt = try #require(delivered.first)
        #expect(receipt.providerMessageID == "01JHFFHQ0P99JPPNQPJDV7JTBP")
        #expect(receipt.status == .delivered)
        #expect(receipt.providerStatus == "Delivered")
        #expect(receipt.errorCode == nil)
        let at = try #require(receipt.occurredAt)
        #expect(abs(at.timeIntervalSince1970 - 1_736_760_160.914) < 0.001)

        // The callback example in Sinch's delivery report reference: 401 Dispatched.
        let dispatched = try adapter.receipts(webhook(#"{"at":"2022-08-30T08:16:08.930Z","batch_id":"01FC66621XXXXX119Z8PMV1QPQ","code":401,"recipient":"+44231235674","status":"Dispatched","type":"recipient_delivery_report_sms"}"#))
        #expect(dispatched.map(\.status) == [.sent])
        #expect(dispatched.first?.errorCode == nil)

        let failures: [(String, Int, ReceiptStatus)] = [("Failed", 404, .undelivered), ("Aborted", 402, .failed), ("Rejected", 408, .failed),
                                                        ("Expired", 406, .failed), ("Queued", 400, .pending), ("Unknown", 0, .sent)]
        for (status, code, expected) in failures {
            let receipt = try #require(try adapter.receipts(webhook(#"{"type":"recipient_delivery_report_sms","batch_id":"b","recipient":"1","code":\#(code),"status":"\#(status)","at":"2022-08-30T08:16:08Z"}"#)).first)
            #expect(receipt.status == expected, "\(status)")
            #expect(receipt.providerStatus == status)
            #expect(receipt.errorCode == (expected == .failed || expected == .undelivered ? String(code) : nil))
        }
    }

    @Test("a batch summary report gives one receipt per status")
    func batchReport() throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        let body = #"{"type":"delivery_report_sms","batch_id":"batch_id_value","total_message_count":2,"statuses":[{"code":0,"count":1,"recipients":["+1234567890"],"status":"Delivered"},{"code":402,"count":1,"status":"Aborted"}]}"#
        let receipts = try adapter.receipts(webhook(body))
        #expect(receipts.map(\.providerMessageID) == ["batch_id_value", "batch_id_value"])
        #expect(receipts.map(\.status) == [.delivered, .failed])
        #expect(receipts.map(\.errorCode) == [nil, "402"])
    }

    @Test("malformed delivery reports throw", arguments: ["", "not json", "[]", #"{"batch_id":"b","status":"Delivered"}"#,
                                                          #"{"type":"recipient_delivery_report_sms","status":"Delivered"}"#,
                                                          #"{"type":"recipient_delivery_report_sms","batch_id":"b"}"#,
                                                          #"{"type":"mo_text","batch_id":"b"}"#,
                                                          #"{"type":"delivery_report_sms","batch_id":"b"}"#])
    func malformedReports(_ body: String) throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        #expect(throws: WebhookError.self) { _ = try adapter.receipts(webhook(body)) }
    }

    @Test("an inbound mo_text gives sender, our number, text and id")
    func inbound() throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        // The mo_text example of Sinch's inbound reference.
        let body = #"{"type":"mo_text","id":"01FC66621XXXXX119Z8PMV1QPQ","from":"+15551231234","to":"+15551239876","body":"STOP","operator_id":"35000","received_at":"2022-08-24T14:15:22Z"}"#
        #expect(try adapter.inbound(webhook(body)) == InboundMessage(providerMessageID: "01FC66621XXXXX119Z8PMV1QPQ",
                                                                      from: "+15551231234", to: "+15551239876", text: "STOP"))
    }

    @Test("malformed or non-text inbound messages throw", arguments: ["", "{", #"{"type":"mo_text","body":"x"}"#,
                                                                      #"{"type":"mo_binary","from":"1","to":"2","body":"VGhpcw==","udh":"00"}"#])
    func malformedInbound(_ body: String) throws {
        let adapter = try SinchAdapter(config: sinchConfig())
        #expect(throws: WebhookError.self) { _ = try adapter.inbound(webhook(body)) }
    }
}
