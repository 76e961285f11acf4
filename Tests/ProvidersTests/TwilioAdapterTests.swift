import Foundation
import Providers
import Testing

@Suite struct TwilioAdapterTests {
    static let sid = "AC00000000000000000000000000000001"
    static let token = "twilio-auth-token"

    static func adapter(baseURL: String = "https://api.twilio.com", extra: [String: String] = ["from": "+15005550006"]) throws -> TwilioAdapter {
        try TwilioAdapter(config: Fixtures.config(["account_sid": sid, "auth_token": token, "base_url": baseURL].merging(extra) { a, _ in a }))
    }

    // MARK: Configuration

    @Test("config errors name the missing key")
    func configErrors() {
        expectConfigError("account_sid") { () throws(ProviderConfigError) in try TwilioAdapter(config: Fixtures.config(["auth_token": "t", "from": "+1"])) }
        expectConfigError("auth_token") { () throws(ProviderConfigError) in try TwilioAdapter(config: Fixtures.config(["account_sid": "AC1", "from": "+1"])) }
        expectConfigError("from") { () throws(ProviderConfigError) in try TwilioAdapter(config: Fixtures.config(["account_sid": "AC1", "auth_token": "t"])) }
        expectConfigError("base_url") { () throws(ProviderConfigError) in
            try TwilioAdapter(config: Fixtures.config(["account_sid": "AC1", "auth_token": "t", "from": "+1", "base_url": "ftp://x"]))
        }
    }

    @Test("a messaging service sid stands in for from, but cannot place calls")
    func messagingService() async throws {
        let adapter = try Self.adapter(extra: ["messaging_service_sid": "MG00000000000000000000000000000001"])
        let request = try adapter.smsRequest(Fixtures.message())
        let form = try FormEncoding.decode(request.body)
        #expect(form.value("MessagingServiceSid") == "MG00000000000000000000000000000001")
        #expect(form.value("From") == nil)
        expectUnsupportedChannel { () throws(ProviderFailure) in try adapter.voiceRequest(Fixtures.message(channel: .voice)) }
    }

    // MARK: Over real HTTP

    @Test("an SMS reaches Messages.json form-encoded with basic auth, and the sid comes back")
    func smsOverHTTP() async throws {
        // The example answer of "Create a Message resource".
        let created = #"{"account_sid":"AC00000000000000000000000000000001","api_version":"2010-04-01","body":"Your code is 123456 & more","date_created":"Thu, 24 Aug 2023 05:01:45 +0000","date_sent":null,"direction":"outbound-api","error_code":null,"error_message":null,"from":"+15005550006","num_segments":"1","price":null,"sid":"SM1f0e8ae6ade43cb3c0ce4525424e404f","status":"queued","to":"+4915112345678","uri":"/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"}"#
        try await LoopbackProvider.run(reply: { _ in .json(201, created) }) { provider in
            let adapter = try Self.adapter(baseURL: provider.baseURL)
            let request = try adapter.smsRequest(Fixtures.message())
            let response = try await provider.send(request)
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/2010-04-01/Accounts/\(Self.sid)/Messages.json")
            #expect(seen.header("authorization") == Fixtures.basic(Self.sid, Self.token))
            #expect(seen.header("content-type") == "application/x-www-form-urlencoded")
            let form = try seen.form()
            #expect(form.map(\.0) == ["To", "From", "Body", "StatusCallback"])
            #expect(form.value("To") == "+4915112345678")
            #expect(form.value("From") == "+15005550006")
            #expect(form.value("Body") == "Your code is 123456 & more")
            #expect(form.value("StatusCallback") == Fixtures.callback)
            #expect(adapter.interpret(response, channel: .sms) == .accepted(providerMessageID: "SM1f0e8ae6ade43cb3c0ce4525424e404f"))
        }
    }

    @Test("a voice call posts TwiML with an escaped Say in the recipient's language")
    func voiceOverHTTP() async throws {
        let created = #"{"sid":"CA5ef8732a3c49700934481addd5ce1659","status":"queued","to":"+4915112345678","from":"+15005550006"}"#
        try await LoopbackProvider.run(reply: { _ in .json(201, created) }) { provider in
            let adapter = try Self.adapter(baseURL: provider.baseURL)
            let request = try adapter.voiceRequest(Fixtures.message(text: "Ihr Code: 1 2 3 <4> & \"5\"", channel: .voice, locale: "de-DE"))
            let response = try await provider.send(request)
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/2010-04-01/Accounts/\(Self.sid)/Calls.json")
            #expect(seen.header("authorization") == Fixtures.basic(Self.sid, Self.token))
            #expect(seen.header("content-type") == "application/x-www-form-urlencoded")
            let form = try seen.form()
            #expect(form.value("To") == "+4915112345678")
            #expect(form.value("From") == "+15005550006")
            #expect(form.value("Twiml") == #"<Response><Say language="de-DE">Ihr Code: 1 2 3 &lt;4&gt; &amp; &quot;5&quot;</Say></Response>"#)
            #expect(form.value("StatusCallback") == Fixtures.callback)
            #expect(adapter.interpret(response, channel: .voice) == .accepted(providerMessageID: "CA5ef8732a3c49700934481addd5ce1659"))
        }
    }

    @Test("Say keeps a supported language, maps a bare language to its first locale, drops unknown ones")
    func sayLanguages() {
        #expect(TwilioAdapter.twiml(text: "hi", locale: "en_gb") == #"<Response><Say language="en-GB">hi</Say></Response>"#)
        #expect(TwilioAdapter.twiml(text: "hi", locale: "fr") == #"<Response><Say language="fr-FR">hi</Say></Response>"#)
        #expect(TwilioAdapter.twiml(text: "hi", locale: "xx-YY") == "<Response><Say>hi</Say></Response>")
        #expect(TwilioAdapter.twiml(text: "hi", locale: nil) == "<Response><Say>hi</Say></Response>")
    }

    @Test("documented errors are classified with Twilio's code kept")
    func errorsOverHTTP() async throws {
        let cases: [(WireResponse, ProviderFailure.Category, String, Duration?)] = [
            (.json(400, #"{"code": 21211, "message": "The 'To' number 5551234567 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#), .invalidNumber, "21211", nil),
            (.json(400, #"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}"#), .unsubscribed, "21610", nil),
            (.json(400, #"{"code": 21614, "message": "'To' number is not a valid mobile number", "more_info": "https://www.twilio.com/docs/errors/21614", "status": 400}"#), .invalidNumber, "21614", nil),
            (.json(401, #"{"code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}"#), .account, "20003", nil),
            (.json(429, #"{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}"#, headers: ["Retry-After": "7"]), .throttled, "20429", .seconds(7)),
            (.json(503, #"{"code": 20503, "message": "Service Unavailable", "status": 503}"#, headers: ["Retry-After": "3"]), .unavailable, "20503", .seconds(3)),
            (WireResponse(status: 500, body: Array("oops".utf8)), .unavailable, "500", nil),
            (.json(400, #"{"code": 21602, "message": "Message body is required.", "status": 400}"#), .rejected, "21602", nil),
        ]
        for (reply, category, code, retryAfter) in cases {
            try await LoopbackProvider.run(reply: { _ in reply }) { provider in
                let adapter = try Self.adapter(baseURL: provider.baseURL)
                let response = try await provider.send(try adapter.smsRequest(Fixtures.message()))
                let (failure, retry) = try #require(failureOf(adapter.interpret(response, channel: .sms)))
                #expect(failure.category == category)
                #expect(failure.code == code)
                #expect(retry == retryAfter)
                #expect(!failure.message.contains(Self.token))
            }
        }
    }

    @Test("a 2xx without a sid is not an acceptance")
    func successWithoutSid() throws {
        let adapter = try Self.adapter()
        let (failure, _) = try #require(failureOf(adapter.interpret(.json(201, "{}"), channel: .sms)))
        #expect(failure.category == .unavailable)
    }

    // MARK: Signatures

    /// twilio-python's `tests/unit/test_request_validator.py`, token `12345`.
    static let validatorURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
    static let validatorParams = [("CallSid", "CA1234567890ABCDE"), ("Digits", "1234"), ("From", "+14158675309"),
                                  ("To", "+18005551212"), ("Caller", "+14158675309")]

    @Test("twilio-python's request validator vectors hold, ports added or removed")
    func publishedVectors() throws {
        #expect(TwilioSignature.signature(url: Self.validatorURL, parameters: Self.validatorParams, authToken: "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        #expect(TwilioSignature.signature(url: Self.validatorURL,
                                          parameters: [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")],
                                          authToken: "12345") == "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
        let adapter = try TwilioAdapter(config: Fixtures.config(["account_sid": "AC1", "auth_token": "12345", "from": "+1"]))
        func request(_ url: String, _ signature: String) -> WebhookRequest {
            Fixtures.post(url, form: Self.validatorParams, headers: ["X-Twilio-Signature": signature])
        }
        let now = Date()
        #expect(adapter.verifySignature(request(Self.validatorURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), now: now))
        // Twilio signed without the port we saw, or with the default port we did not see.
        #expect(adapter.verifySignature(request("https://mycompany.com:1234/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8="), now: now))
        #expect(adapter.verifySignature(request(Self.validatorURL, "kvajT1Ptam85bY51eRf/AJRuM3w="), now: now))
        #expect(adapter.verifySignature(request("http://mycompany.com/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4="), now: now))
        #expect(adapter.verifySignature(request("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="), now: now))
        #expect(!adapter.verifySignature(request(Self.validatorURL + "&x=1", "RSOYDt4T1cUTdK1PDd93/VVr8B8="), now: now))
    }

    @Test("a JSON body is checked through bodySHA256 (twilio-python's vector)")
    func bodyHashVector() throws {
        let body = "{\"property\": \"value\", \"boolean\": true}"
        #expect(TwilioSignature.bodyHash(Array(body.utf8)) == "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620")
        let adapter = try TwilioAdapter(config: Fixtures.config(["account_sid": "AC1", "auth_token": "12345", "from": "+1"]))
        let url = Self.validatorURL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        let good = Fixtures.postJSON(url, body, headers: ["X-Twilio-Signature": "a9nBmqA0ju/hNViExpshrM61xv4="])
        #expect(adapter.verifySignature(good, now: Date()))
        var tampered = good
        tampered.body = Array("{\"property\": \"value\", \"boolean\": false}".utf8)
        #expect(!adapter.verifySignature(tampered, now: Date()))
    }

    @Test("sign then verify holds, and any change to URL, body or token breaks it")
    func roundTrip() throws {
        let adapter = try Self.adapter()
        let pairs = [("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("Body", "a&b=c ü +")]
        let url = "https://herald.example.com/webhooks/prv_1/status?t=tok"
        let signature = TwilioSignature.signature(url: url, parameters: pairs, authToken: Self.token)
        let request = Fixtures.post(url, form: pairs, headers: ["X-Twilio-Signature": signature])
        #expect(adapter.verifySignature(request, now: Date()))
        #expect(!adapter.verifySignature(Fixtures.post(url + "x", form: pairs, headers: ["X-Twilio-Signature": signature]), now: Date()))
        #expect(!adapter.verifySignature(Fixtures.post(url, form: pairs + [("X", "1")], headers: ["X-Twilio-Signature": signature]), now: Date()))
        #expect(!adapter.verifySignature(Fixtures.post(url, form: pairs), now: Date()))
        let other = try TwilioAdapter(config: Fixtures.config(["account_sid": Self.sid, "auth_token": "other", "from": "+1"]))
        #expect(!other.verifySignature(request, now: Date()))
        // Any single-character change to any value is caught.
        for index in pairs.indices {
            var changed = pairs
            changed[index].1 += "!"
            #expect(!adapter.verifySignature(Fixtures.post(url, form: changed, headers: ["X-Twilio-Signature": signature]), now: Date()))
        }
    }

    // MARK: Webhooks

    @Test("message status callbacks map onto receipt statuses with the error code kept")
    func messageReceipts() throws {
        let adapter = try Self.adapter()
        // The parameters of Twilio's "Track the message status" example, failed variant.
        let body: [(String, String)] = [
            ("ErrorCode", "30003"), ("SmsSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"), ("SmsStatus", "undelivered"),
            ("MessageStatus", "undelivered"), ("To", "+15558675310"), ("MessageSid", "SM1f0e8ae6ade43cb3c0ce4525424e404f"),
            ("AccountSid", Self.sid), ("From", "+15017122661"), ("ApiVersion", "2010-04-01"),
        ]
        let receipts = try adapter.receipts(Fixtures.post(Fixtures.callback, form: body))
        #expect(receipts == [DeliveryReceipt(providerMessageID: "SM1f0e8ae6ade43cb3c0ce4525424e404f", status: .undelivered,
                                             providerStatus: "undelivered", errorCode: "30003")])
        let expected: [String: ReceiptStatus] = [
            "accepted": .pending, "queued": .pending, "sending": .pending, "sent": .sent, "delivered": .delivered,
            "read": .delivered, "undelivered": .undelivered, "failed": .failed, "canceled": .failed, "brand_new": .pending,
        ]
        for (word, status) in expected {
            let receipt = try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("MessageSid", "SM1"), ("MessageStatus", word)]))
            #expect(receipt.first?.status == status, "\(word)")
            #expect(receipt.first?.providerStatus == word)
            #expect(receipt.first?.errorCode == nil)
        }
    }

    @Test("call status callbacks map completed, busy, no-answer, canceled and failed")
    func callReceipts() throws {
        let adapter = try Self.adapter()
        let expected: [String: ReceiptStatus] = [
            "completed": .delivered, "busy": .undelivered, "no-answer": .undelivered, "canceled": .undelivered,
            "failed": .failed, "ringing": .pending, "in-progress": .pending,
        ]
        for (word, status) in expected {
            let receipts = try adapter.receipts(Fixtures.post(Fixtures.callback, form: [
                ("CallSid", "CA5ef8732a3c49700934481addd5ce1659"), ("CallStatus", word), ("AccountSid", Self.sid),
                ("Direction", "outbound-api"), ("CallDuration", "4"),
            ]))
            #expect(receipts == [DeliveryReceipt(providerMessageID: "CA5ef8732a3c49700934481addd5ce1659", status: status, providerStatus: word)])
        }
    }

    @Test("receipts read the body as the form the signature covers, whatever the unsigned Content-Type says")
    func bodyReadAsSigned() throws {
        let adapter = try Self.adapter()
        // The signature covers one form parameter whose name happens to be JSON. Read as JSON
        // because of a header nobody signed, it would become a receipt for another message.
        let body = #"{"MessageSid":"SMVICTIM","MessageStatus":"delivered"}"#
        let signature = TwilioSignature.signature(url: Fixtures.callback, parameters: [(body, "")], authToken: Self.token)
        let request = Fixtures.postJSON(Fixtures.callback, body, headers: ["X-Twilio-Signature": signature])
        #expect(adapter.verifySignature(request, now: Date()))
        #expect(throws: WebhookError.self) { try adapter.receipts(request) }
        #expect(throws: WebhookError.self) { try adapter.inbound(request) }
        // A form body marked as JSON is still the signed form.
        let pairs = [("MessageSid", "SM1"), ("MessageStatus", "delivered")]
        let mislabelled = WebhookRequest(method: "POST", url: Fixtures.callback, headers: ["content-type": "application/json"],
                                         body: Fixtures.form(pairs))
        #expect(try adapter.receipts(mislabelled) == [DeliveryReceipt(providerMessageID: "SM1", status: .delivered, providerStatus: "delivered")])
        // With bodySHA256 in the signed URL the JSON body is what the hash binds, and is read.
        let json = #"{"MessageSid":"SM2","MessageStatus":"failed"}"#
        let hashed = Fixtures.postJSON(Fixtures.callback + "&bodySHA256=" + TwilioSignature.bodyHash(Array(json.utf8)), json)
        #expect(try adapter.receipts(hashed) == [DeliveryReceipt(providerMessageID: "SM2", status: .failed, providerStatus: "failed")])
    }

    @Test("malformed status callbacks throw")
    func malformedReceipts() throws {
        let adapter = try Self.adapter()
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("Foo", "bar")])) }
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("MessageSid", ""), ("MessageStatus", "sent")])) }
        let badEscape = WebhookRequest(method: "POST", url: Fixtures.callback, headers: [:], body: Array("MessageSid=%ZZ&MessageStatus=sent".utf8))
        #expect(throws: WebhookError.self) { try adapter.receipts(badEscape) }
        let notUTF8 = WebhookRequest(method: "POST", url: Fixtures.callback, headers: [:], body: [0x4D, 0xFF, 0xFE])
        #expect(throws: WebhookError.self) { try adapter.receipts(notUTF8) }
    }

    @Test("an incoming message gives sender, our number, text and sid")
    func inboundMessage() throws {
        let adapter = try Self.adapter()
        // Twilio's documented incoming-message parameters.
        let body: [(String, String)] = [
            ("ToCountry", "US"), ("ToState", "CA"), ("SmsMessageSid", "SMbe794ce78f6b9fdf853d2acb76c080db"), ("NumMedia", "0"),
            ("SmsSid", "SMbe794ce78f6b9fdf853d2acb76c080db"), ("SmsStatus", "received"), ("Body", "STOP"),
            ("To", "+16505558225"), ("NumSegments", "1"), ("MessageSid", "SMbe794ce78f6b9fdf853d2acb76c080db"),
            ("AccountSid", Self.sid), ("From", "+16505551199"), ("ApiVersion", "2010-04-01"),
        ]
        let message = try adapter.inbound(Fixtures.post("https://herald.example.com/webhooks/prv_1/inbound", form: body))
        #expect(message == InboundMessage(providerMessageID: "SMbe794ce78f6b9fdf853d2acb76c080db", from: "+16505551199", to: "+16505558225", text: "STOP"))
        #expect(throws: WebhookError.self) { try adapter.inbound(Fixtures.post(Fixtures.callback, form: [("Body", "hi")])) }
    }

    @Test("webhooks are acknowledged with empty TwiML")
    func acknowledgement() throws {
        let reply = try Self.adapter().acknowledgement()
        #expect(reply.status == 200)
        #expect(reply.contentType == "text/xml")
        #expect(String(decoding: reply.body, as: UTF8.self) == #"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#)
    }
}
