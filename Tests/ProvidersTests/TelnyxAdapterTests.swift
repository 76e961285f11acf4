import Crypto
import Foundation
import Providers
import Testing

@Suite struct TelnyxAdapterTests {
    /// The public key of RFC 8032 §7.1 test 1 (secret key 9d61b19d…7f60), Base64.
    static let publicKey = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    static let now = Date(timeIntervalSince1970: 1_735_689_600)

    static func adapter(baseURL: String = "https://api.telnyx.com", extra: [String: String] = ["from": "+18445550001"]) throws -> TelnyxAdapter {
        try TelnyxAdapter(config: Fixtures.config(["api_key": "KEY0123456789", "public_key": publicKey, "base_url": baseURL].merging(extra) { a, _ in a }))
    }

    // MARK: Configuration

    @Test("config errors name the missing or wrong key")
    func configErrors() {
        expectConfigError("api_key") { () throws(ProviderConfigError) in try TelnyxAdapter(config: Fixtures.config(["from": "+1"])) }
        expectConfigError("from") { () throws(ProviderConfigError) in try TelnyxAdapter(config: Fixtures.config(["api_key": "k"])) }
        expectConfigError("public_key") { () throws(ProviderConfigError) in
            try TelnyxAdapter(config: Fixtures.config(["api_key": "k", "from": "+1", "public_key": "c2hvcnQ="]))
        }
        expectConfigError("base_url") { () throws(ProviderConfigError) in
            try TelnyxAdapter(config: Fixtures.config(["api_key": "k", "from": "+1", "base_url": "api.telnyx.com"]))
        }
    }

    // MARK: Over real HTTP

    @Test("an SMS posts JSON to /v2/messages with a bearer key, and data.id comes back")
    func smsOverHTTP() async throws {
        // The example answer of "Send a message".
        let sent = #"{"data":{"record_type":"message","direction":"outbound","id":"40385f64-5717-4562-b3fc-2c963f66afa6","type":"SMS","messaging_profile_id":"4000eba1-a0c0-4563-9925-b25e842a7cb6","from":{"phone_number":"+18445550001","carrier":"TELNYX LLC","line_type":"VoIP"},"to":[{"phone_number":"+4915112345678","status":"queued","carrier":"T-MOBILE USA, INC.","line_type":"Wireless"}],"text":"Your code is 123456 & more","media":[],"encoding":"GSM-7","parts":1,"errors":[]}}"#
        try await LoopbackProvider.run(reply: { _ in .json(200, sent) }) { provider in
            let adapter = try Self.adapter(baseURL: provider.baseURL, extra: ["from": "+18445550001", "messaging_profile_id": "4000eba1-a0c0-4563-9925-b25e842a7cb6"])
            let response = try await provider.send(try adapter.smsRequest(Fixtures.message()))
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/v2/messages")
            #expect(seen.header("authorization") == "Bearer KEY0123456789")
            #expect(seen.header("content-type") == "application/json")
            let body = try seen.json()
            #expect(Set(body.keys) == ["from", "to", "text", "webhook_url", "messaging_profile_id"])
            #expect(body["from"] as? String == "+18445550001")
            #expect(body["to"] as? String == "+4915112345678")
            #expect(body["text"] as? String == "Your code is 123456 & more")
            #expect(body["webhook_url"] as? String == Fixtures.callback)
            #expect(body["messaging_profile_id"] as? String == "4000eba1-a0c0-4563-9925-b25e842a7cb6")
            #expect(adapter.interpret(response, channel: .sms) == .accepted(providerMessageID: "40385f64-5717-4562-b3fc-2c963f66afa6"))
        }
    }

    @Test("with only a messaging profile, the profile picks the sender")
    func profileOnly() throws {
        let adapter = try TelnyxAdapter(config: Fixtures.config(["api_key": "k", "messaging_profile_id": "p1"]))
        let body = try JSONSerialization.jsonObject(with: Data(try adapter.smsRequest(Fixtures.message()).body)) as? [String: Any]
        #expect(body?["from"] == nil)
        #expect(body?["messaging_profile_id"] as? String == "p1")
        #expect(adapter.webhookAuthentication == .signature)
        #expect(!adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, "{}"), now: Self.now))
    }

    @Test("documented errors are classified with Telnyx's code kept")
    func errorsOverHTTP() async throws {
        let cases: [(WireResponse, ProviderFailure.Category, String, Duration?)] = [
            (.json(400, #"{"errors":[{"code":"40300","title":"Blocked due to STOP message","detail":"Messages cannot be sent from '+18445550001' to '+4915112345678' due to an existing block rule."}]}"#), .unsubscribed, "40300", nil),
            (.json(400, #"{"errors":[{"code":"10016","title":"Phone number must be in +E.164 format","detail":"The 'to' parameter must be in +E.164 format."}]}"#), .invalidNumber, "10016", nil),
            (.json(401, #"{"errors":[{"code":"10009","title":"Authentication failed","detail":"The required authentication headers were either invalid or not included in the request."}]}"#), .account, "10009", nil),
            (.json(429, #"{"errors":[{"code":"10011","title":"Too many requests","detail":"You have exceeded the maximum number of allowed requests."}]}"#, headers: ["Retry-After": "4"]), .throttled, "10011", .seconds(4)),
            (.json(500, #"{"errors":[{"code":"10007","title":"Unexpected error","detail":"An unexpected error occured."}]}"#), .unavailable, "10007", nil),
            (.json(422, #"{"errors":[{"code":"10015","title":"Bad Request","detail":"The request failed because it was not well-formed."}]}"#), .rejected, "10015", nil),
            (WireResponse(status: 503, headers: ["Retry-After": "1"]), .unavailable, "503", .seconds(1)),
        ]
        for (reply, category, code, retryAfter) in cases {
            try await LoopbackProvider.run(reply: { _ in reply }) { provider in
                let adapter = try Self.adapter(baseURL: provider.baseURL)
                let response = try await provider.send(try adapter.smsRequest(Fixtures.message()))
                let (failure, retry) = try #require(failureOf(adapter.interpret(response, channel: .sms)))
                #expect(failure.category == category)
                #expect(failure.code == code)
                #expect(retry == retryAfter)
            }
        }
    }

    @Test("voice is refused as an unsupported channel")
    func noVoice() throws {
        let adapter = try Self.adapter()
        expectUnsupportedChannel { () throws(ProviderFailure) in try adapter.voiceRequest(Fixtures.message(channel: .voice)) }
    }

    // MARK: Signatures

    static let finalized = #"{"data":{"event_type":"message.finalized","id":"evt-1","payload":{"id":"40385f64-5717-4562-b3fc-2c963f66afa6","to":[{"phone_number":"+18665550001","status":"delivered"}]}}}"#

    @Test("a signature made by PyNaCl with the RFC 8032 key verifies, within 300 seconds only")
    func naclVector() throws {
        let adapter = try Self.adapter()
        let signature = "uxV5wPcC1XBuatgBC/Tl8y8b9FqJXt49WjJ7mwU0crCr1ynTCOxN7cDT6efnCFCjHAhWlRI2nbQKIVqrpOgjAw=="
        let request = Fixtures.postJSON(Fixtures.callback, Self.finalized,
                                        headers: ["telnyx-signature-ed25519": signature, "telnyx-timestamp": "1735689600"])
        #expect(adapter.verifySignature(request, now: Self.now))
        #expect(adapter.verifySignature(request, now: Self.now.addingTimeInterval(300)))
        #expect(!adapter.verifySignature(request, now: Self.now.addingTimeInterval(301)))
        #expect(!adapter.verifySignature(request, now: Self.now.addingTimeInterval(-301)))
        var tampered = request
        tampered.body[tampered.body.count - 5] ^= 0x01
        #expect(!adapter.verifySignature(tampered, now: Self.now))
        let shifted = Fixtures.postJSON(Fixtures.callback, Self.finalized,
                                        headers: ["telnyx-signature-ed25519": signature, "telnyx-timestamp": "1735689601"])
        #expect(!adapter.verifySignature(shifted, now: Self.now))
    }

    @Test("sign then verify holds for fresh keys; another key or a missing header fails")
    func roundTrip() throws {
        for _ in 0..<8 {
            let key = Curve25519.Signing.PrivateKey()
            let adapter = try TelnyxAdapter(config: Fixtures.config(["api_key": "k", "from": "+1",
                                                                     "public_key": key.publicKey.rawRepresentation.base64EncodedString()]))
            let body = Array(Self.finalized.utf8)
            let signature = try TelnyxSignature.signature(timestamp: "1735689600", body: body, privateKey: key)
            let request = WebhookRequest(method: "POST", url: Fixtures.callback,
                                         headers: ["Telnyx-Signature-Ed25519": signature, "Telnyx-Timestamp": "1735689600"], body: body)
            #expect(adapter.verifySignature(request, now: Self.now))
            #expect(!(try Self.adapter()).verifySignature(request, now: Self.now))
            var unsigned = request
            unsigned.headers["telnyx-signature-ed25519"] = nil
            #expect(!adapter.verifySignature(unsigned, now: Self.now))
        }
    }

    // MARK: Webhooks

    @Test("message.sent and message.finalized events become receipts; other events none")
    func receipts() throws {
        let adapter = try Self.adapter()
        let delivered = #"{"data":{"event_type":"message.finalized","id":"4ee8c3a6-4995-4309-a3c6-38e3db9ea4be","occurred_at":"2019-12-09T20:16:07.588+00:00","payload":{"completed_at":"2019-12-09T20:16:07.503+00:00","direction":"outbound","errors":[],"from":{"carrier":"TELNYX LLC","line_type":"VoIP","phone_number":"+18445550001"},"id":"40385f64-5717-4562-b3fc-2c963f66afa6","parts":1,"record_type":"message","sent_at":"2019-12-09T20:16:07.503+00:00","text":"Hello, World!","to":[{"carrier":"T-MOBILE USA, INC.","line_type":"Wireless","phone_number":"+18665550001","status":"delivered"}],"type":"SMS"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}"#
        let receipts = try adapter.receipts(Fixtures.postJSON(Fixtures.callback, delivered))
        let receipt = try #require(receipts.first)
        #expect(receipts.count == 1)
        #expect(receipt.providerMessageID == "40385f64-5717-4562-b3fc-2c963f66afa6")
        #expect(receipt.status == .delivered)
        #expect(receipt.providerStatus == "delivered")
        #expect(receipt.errorCode == nil)
        #expect(abs((receipt.occurredAt?.timeIntervalSince1970 ?? 0) - 1_575_922_567.503) < 0.001)

        let failed = #"{"data":{"event_type":"message.finalized","payload":{"id":"m2","to":[{"phone_number":"+18665550001","status":"delivery_failed"}],"errors":[{"code":"40008","title":"Undeliverable","detail":"The message could not be delivered."}]}}}"#
        #expect(try adapter.receipts(Fixtures.postJSON(Fixtures.callback, failed))
            == [DeliveryReceipt(providerMessageID: "m2", status: .undelivered, providerStatus: "delivery_failed",
                                errorCode: "40008", errorMessage: "The message could not be delivered.")])

        let words: [String: ReceiptStatus] = ["queued": .pending, "sending": .pending, "sent": .sent, "delivered": .delivered,
                                              "delivery_failed": .undelivered, "sending_failed": .failed, "expired": .undelivered,
                                              "delivery_unconfirmed": .sent]
        for (word, status) in words {
            let body = #"{"data":{"event_type":"message.sent","payload":{"id":"m1","to":[{"phone_number":"+1","status":"\#(word)"}]}}}"#
            #expect(try adapter.receipts(Fixtures.postJSON(Fixtures.callback, body)).first?.status == status, "\(word)")
        }
        #expect(try adapter.receipts(Fixtures.postJSON(Fixtures.callback, #"{"data":{"event_type":"call.initiated","payload":{}}}"#)) == [])
    }

    @Test("malformed events throw")
    func malformed() throws {
        let adapter = try Self.adapter()
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.postJSON(Fixtures.callback, "not json")) }
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.postJSON(Fixtures.callback, #"{"data":{}}"#)) }
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.postJSON(Fixtures.callback, #"{"data":{"event_type":"message.sent","payload":{"id":"m1","to":[]}}}"#)) }
        #expect(throws: WebhookError.self) { try adapter.inbound(Fixtures.postJSON(Fixtures.callback, Self.finalized)) }
        #expect(throws: WebhookError.self) { try adapter.inbound(Fixtures.postJSON(Fixtures.callback, #"{"data":{"event_type":"message.received","payload":{"text":"hi"}}}"#)) }
    }

    @Test("a message.received event gives sender, our number, text and id")
    func inboundMessage() throws {
        let adapter = try Self.adapter()
        let received = #"{"data":{"event_type":"message.received","id":"b301ed3f-1490-491f-995f-6e64e69674d4","occurred_at":"2019-12-09T20:16:07.588+00:00","payload":{"direction":"inbound","from":{"carrier":"T-Mobile USA","line_type":"long_code","phone_number":"+13125550001"},"id":"84cca175-9755-4859-b67f-4730d7f58aa3","media":[],"messaging_profile_id":"740572b6-099c-44a1-89b9-6c92163bc68d","record_type":"message","received_at":"2019-12-09T20:16:07.503+00:00","text":"Hello from Telnyx!","to":[{"carrier":"Telnyx","line_type":"Wireless","phone_number":"+17735550002","status":"webhook_delivered"}],"type":"SMS"},"record_type":"event"},"meta":{"attempt":1,"delivered_to":"https://example.com/webhooks"}}"#
        #expect(try adapter.inbound(Fixtures.postJSON("https://herald.example.com/webhooks/prv_1/inbound", received))
            == InboundMessage(providerMessageID: "84cca175-9755-4859-b67f-4730d7f58aa3", from: "+13125550001", to: "+17735550002", text: "Hello from Telnyx!"))
    }
}
