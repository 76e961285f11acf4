import Foundation
import SMS
import Providers
import Testing

private func infobipConfig(_ baseURL: String = "https://xk4e2q.api.infobip.com", from: String? = "InfoSMS") -> ProviderConfig {
    var values: [String: JSONValue] = ["api_key": .string("key-abc"), "base_url": .string(baseURL)]
    if let from { values["from"] = .string(from) }
    return ProviderConfig(values)
}

private func infobipConfigError(_ values: [String: JSONValue]) -> ProviderConfigError? {
    do {
        _ = try InfobipAdapter(config: ProviderConfig(values))
        return nil
    } catch {
        return error
    }
}

private let messageID = UUID(uuidString: "6BA7B810-9DAD-11D1-80B4-00C04FD430C8")!

private func message(_ text: String = "Your code is 123456", channel: OutgoingMessage.Channel = .sms,
                     locale: String? = nil) -> OutgoingMessage {
    OutgoingMessage(id: messageID, to: "+41793026727", text: text, channel: channel, locale: locale,
                    statusCallbackURL: "https://herald.example/webhooks/3/status?token=t0k")
}

private func webhook(_ body: String) -> WebhookRequest {
    WebhookRequest(method: "POST", url: "https://herald.example/webhooks/3/status?token=t0k",
                   headers: ["content-type": "application/json"], body: Array(body.utf8))
}

/// The "send SMS" answer in Infobip's API reference.
private let pendingReply = #"{"bulkId":"2034072219640523072","messages":[{"messageId":"2250be2d4219-3af1-78856-aabe-1362af1edfd2","status":{"groupId":1,"groupName":"PENDING","id":26,"name":"PENDING_ACCEPTED","description":"Message sent to next instance"},"destination":"41793026727"}]}"#

@Suite("Infobip adapter") struct InfobipAdapterTests {
    // MARK: Configuration

    @Test("the api key and the account base url are required and named")
    func missingKeys() {
        #expect(infobipConfigError(["base_url": .string("https://x.api.infobip.com")])?.key == "api_key")
        #expect(infobipConfigError(["api_key": .string("k")])?.key == "base_url")
        #expect(infobipConfigError(["api_key": .string("k"), "base_url": .string("x.api.infobip.com")])?.key == "base_url")
    }

    @Test("webhooks are authenticated by URL token (Infobip does not sign them)")
    func webhookAuthentication() throws {
        let adapter = try InfobipAdapter(config: infobipConfig())
        #expect(adapter.webhookAuthentication == .urlToken)
        #expect(adapter.verifySignature(webhook("{}"), now: Date()) == false)
    }

    // MARK: Sending over HTTP

    @Test("an SMS is posted to /sms/3/messages with App authorization and a delivery webhook, and PENDING is accepted")
    func sendsSMS() async throws {
        try await LoopbackProvider.run(reply: { _ in .json(200, pendingReply) }) { provider in
            let adapter = try InfobipAdapter(config: infobipConfig(provider.baseURL))
            let response = try await provider.send(try adapter.smsRequest(message()))
            #expect(adapter.interpret(response, channel: .sms) == .accepted(providerMessageID: "2250be2d4219-3af1-78856-aabe-1362af1edfd2"))

            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/sms/3/messages")
            #expect(seen.header("authorization") == "App key-abc")
            #expect(seen.header("content-type") == "application/json")
            #expect(seen.header("accept") == "application/json")
            let json = try seen.json()
            #expect(Set(json.keys) == ["messages"])
            let messages = try #require(json["messages"] as? [[String: Any]])
            #expect(messages.count == 1)
            let sms = try #require(messages.first)
            #expect(Set(sms.keys) == ["sender", "destinations", "content", "webhooks"])
            #expect(sms["sender"] as? String == "InfoSMS")
            let destinations = try #require(sms["destinations"] as? [[String: Any]])
            #expect(destinations.count == 1)
            #expect(destinations.first?["to"] as? String == "41793026727")
            #expect(destinations.first?["messageId"] as? String == "6ba7b810-9dad-11d1-80b4-00c04fd430c8")
            #expect((sms["content"] as? [String: Any])?.keys.sorted() == ["text"])
            #expect((sms["content"] as? [String: Any])?["text"] as? String == "Your code is 123456")
            let webhooks = try #require(sms["webhooks"] as? [String: Any])
            #expect(Set(webhooks.keys) == ["delivery", "contentType", "callbackData"])
            #expect((webhooks["delivery"] as? [String: Any])?["url"] as? String == "https://herald.example/webhooks/3/status?token=t0k")
            #expect(webhooks["contentType"] as? String == "application/json")
            #expect(webhooks["callbackData"] as? String == "6ba7b810-9dad-11d1-80b4-00c04fd430c8")
        }
    }

    @Test("hostile text travels intact", arguments: ["He said \"hi\"\n", "a\\b", "😀 Laku noć & = <>", "\u{0}\u{1F}"])
    func hostileText(_ text: String) async throws {
        try await LoopbackProvider.run(reply: { _ in .json(200, pendingReply) }) { provider in
            let adapter = try InfobipAdapter(config: infobipConfig(provider.baseURL))
            _ = try await provider.send(try adapter.smsRequest(message(text)))
            let seen = try #require(provider.requests.first)
            let sms = try #require((try seen.json()["messages"] as? [[String: Any]])?.first)
            #expect((sms["content"] as? [String: Any])?["text"] as? String == text)
        }
    }

    @Test("a voice message is a single text-to-speech call with from, to, text, language and a report URL")
    func sendsVoice() async throws {
        let reply = #"{"bulkId":"4fda521a-c680-470d-b134-83d468f7ac80","messages":[{"to":"41793026727","status":{"groupId":1,"groupName":"PENDING","id":26,"name":"PENDING_ACCEPTED","description":"Message accepted, pending for delivery."},"messageId":"voice-2250be2d"}]}"#
        try await LoopbackProvider.run(reply: { _ in .json(200, reply) }) { provider in
            let adapter = try InfobipAdapter(config: infobipConfig(provider.baseURL, from: "+442032864231"))
            let request = try adapter.voiceRequest(message("Your code is 1 2 3 4 5 6", channel: .voice, locale: "en-US"))
            let response = try await provider.send(request)
            #expect(adapter.interpret(response, channel: .voice) == .accepted(providerMessageID: "voice-2250be2d"))

            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/tts/3/single")
            #expect(seen.header("authorization") == "App key-abc")
            #expect(seen.header("content-type") == "application/json")
            let json = try seen.json()
            #expect(Set(json.keys) == ["from", "to", "text", "language", "notifyUrl", "notifyContentType", "callbackData"])
            #expect(json["from"] as? String == "442032864231")
            #expect(json["to"] as? String == "41793026727")
            #expect(json["text"] as? String == "Your code is 1 2 3 4 5 6")
            #expect(json["language"] as? String == "en")
            #expect(json["notifyUrl"] as? String == "https://herald.example/webhooks/3/status?token=t0k")
            #expect(json["notifyContentType"] as? String == "application/json")
            #expect(json["callbackData"] as? String == "6ba7b810-9dad-11d1-80b4-00c04fd430c8")
        }
    }

    @Test("without a locale the voice language is left to Infobip's default")
    func voiceWithoutLocale() throws {
        let adapter = try InfobipAdapter(config: infobipConfig())
        let json = try #require(try JSONSerialization.jsonObject(with: Data(adapter.voiceRequest(message(channel: .voice)).body)) as? [String: Any])
        #expect(json["language"] == nil)
        #expect(json["from"] as? String == "InfoSMS")
    }

    @Test("HTTP errors and REJECTED statuses are classified with Infobip's own code and Retry-After")
    func errors() async throws {
        func rejected(_ id: Int, _ name: String, _ description: String) -> WireResponse {
            .json(200, #"{"bulkId":"b","messages":[{"to":"41793026727","status":{"groupId":5,"groupName":"REJECTED","id":\#(id),"name":"\#(name)","description":"\#(description)"},"messageId":"m"}]}"#)
        }
        let cases: [(WireResponse, ProviderFailure.Category, String, Duration?)] = [
            (.json(401, #"{"requestError":{"serviceException":{"messageId":"UNAUTHORIZED","text":"Invalid login details"}}}"#), .account, "UNAUTHORIZED", nil),
            (.json(400, #"{"requestError":{"serviceException":{"messageId":"BAD_REQUEST","text":"Bad request","validationErrors":{"messages[0].content.text":["invalid text"]}}}}"#), .rejected, "BAD_REQUEST", nil),
            (.json(400, #"{"errorCode":"E400","description":"Request cannot be processed.","action":"Check the syntax, violations and adjust the request.","violations":[{"property":"messages[0].destinations[0].to","violation":"size must be between 0 and 64"}],"resources":[]}"#), .rejected, "E400", nil),
            (.json(429, #"{"requestError":{"serviceException":{"messageId":"TOO_MANY_REQUESTS","text":"Too many requests"}}}"#, headers: ["retry-after": "2"]), .throttled, "TOO_MANY_REQUESTS", .seconds(2)),
            (.json(500, #"{"requestError":{"serviceException":{"messageId":"GENERAL_ERROR","text":"Something went wrong. Please contact support."}}}"#), .unavailable, "GENERAL_ERROR", nil),
            (WireResponse(status: 503, headers: ["Retry-After": "5"]), .unavailable, "503", .seconds(5)),
            (rejected(12, "REJECTED_NOT_ENOUGH_CREDITS", "Not enough credits"), .account, "REJECTED_NOT_ENOUGH_CREDITS", nil),
            (rejected(51, "MISSING_TO", "Missing destination"), .invalidNumber, "MISSING_TO", nil),
            (rejected(52, "REJECTED_DESTINATION", "Invalid destination address"), .invalidNumber, "REJECTED_DESTINATION", nil),
            (rejected(10, "REJECTED_DND", "Destination on DND list"), .blocked, "REJECTED_DND", nil),
            (rejected(13, "REJECTED_SENDER", "Sender blocklisted"), .account, "REJECTED_SENDER", nil),
        ]
        for (reply, category, code, retryAfter) in cases {
            try await LoopbackProvider.run(reply: { _ in reply }) { provider in
                let adapter = try InfobipAdapter(config: infobipConfig(provider.baseURL))
                let outcome = adapter.interpret(try await provider.send(try adapter.smsRequest(message())), channel: .sms)
                guard case .failed(let failure, let after) = outcome else {
                    Issue.record("expected a failure for \(code), got \(outcome)")
                    return
                }
                #expect(failure.category == category, "\(code)")
                #expect(failure.code == code)
                #expect(after == retryAfter, "\(code)")
            }
        }
    }

    @Test("a 2xx answer with no message id is not accepted")
    func noID() throws {
        let adapter = try InfobipAdapter(config: infobipConfig())
        guard case .failed(let failure, _) = adapter.interpret(.json(200, #"{"bulkId":"b","messages":[]}"#), channel: .sms) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.code == "invalid_response")
    }

    // MARK: Receipts and inbound

    @Test("one delivery webhook can carry several reports, each mapped by status group and error")
    func reports() throws {
        let adapter = try InfobipAdapter(config: infobipConfig())
        // From Infobip's "Receive outbound SMS message reports" reference.
        let body = #"""
        {"results":[
          {"bulkId":"BULK-ID-123-xyz","messageId":"c9823180-94d4-4ea0-9bf3-ec907e7534a6","to":"41793026727","sender":"InfoSMS",
           "sentAt":"2019-11-09T16:00:00.000+0000","doneAt":"2019-11-09T16:00:00.000+0000","messageCount":1,
           "price":{"pricePerMessage":0.01,"currency":"EUR"},
           "status":{"groupId":3,"groupName":"DELIVERED","id":5,"name":"DELIVERED_TO_HANDSET","description":"Message delivered to handset"},
           "error":{"groupId":0,"groupName":"OK","id":0,"name":"NO_ERROR","description":"No Error","permanent":false},
           "callbackData":"6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
          {"bulkId":"BULK-ID-123-xyz","messageId":"12db39c3-7822-4e72-a3ec-c87442c0ffc5","to":"41793026834","sender":"InfoSMS",
           "sentAt":"2019-11-09T17:00:00.000+0000","doneAt":"2019-11-09T17:00:00.000+0000","messageCount":1,
           "status":{"groupId":2,"groupName":"UNDELIVERABLE","id":9,"name":"UNDELIVERABLE_NOT_DELIVERED","description":"Message sent not delivered"},
           "error":{"groupId":1,"groupName":"HANDSET_ERRORS","id":27,"name":"EC_ABSENT_SUBSCRIBER","description":"Absent Subscriber","permanent":false}},
          {"messageId":"m3","status":{"groupId":3,"groupName":"DELIVERED","id":2,"name":"DELIVERED_TO_OPERATOR","description":"Message delivered to operator"}},
          {"messageId":"m4","status":{"groupId":4,"groupName":"EXPIRED","id":15,"name":"EXPIRED_EXPIRED","description":"Message expired"}},
          {"messageId":"m5","status":{"groupId":5,"groupName":"REJECTED","id":12,"name":"REJECTED_NOT_ENOUGH_CREDITS","description":"Not enough credits"}},
          {"messageId":"m6","status":{"groupId":1,"groupName":"PENDING","id":3,"name":"PENDING_WAITING_DELIVERY","description":"Message sent, waiting for delivery report"}}
        ]}
        """#
        let receipts = try adapter.receipts(webhook(body))
        #expect(receipts.map(\.providerMessageID) == ["c9823180-94d4-4ea0-9bf3-ec907e7534a6", "12db39c3-7822-4e72-a3ec-c87442c0ffc5", "m3", "m4", "m5", "m6"])
        #expect(receipts.map(\.status) == [.delivered, .undelivered, .sent, .undelivered, .failed, .pending])
        #expect(receipts.map(\.providerStatus) == ["DELIVERED_TO_HANDSET", "UNDELIVERABLE_NOT_DELIVERED", "DELIVERED_TO_OPERATOR",
                                                   "EXPIRED_EXPIRED", "REJECTED_NOT_ENOUGH_CREDITS", "PENDING_WAITING_DELIVERY"])
        #expect(receipts[0].errorCode == nil)
        #expect(receipts[1].errorCode == "EC_ABSENT_SUBSCRIBER")
        #expect(receipts[1].errorMessage == "Absent Subscriber")
        #expect(receipts[0].occurredAt == Date(timeIntervalSince1970: 1_573_315_200))
        #expect(receipts[1].occurredAt == Date(timeIntervalSince1970: 1_573_318_800))
    }

    @Test("malformed delivery reports throw", arguments: ["", "nope", #"{"results":{}}"#, #"{"results":[{"status":{"groupName":"DELIVERED"}}]}"#,
                                                          #"{"results":[{"messageId":"m"}]}"#, #"{"other":[]}"#])
    func malformedReports(_ body: String) throws {
        let adapter = try InfobipAdapter(config: infobipConfig())
        #expect(throws: WebhookError.self) { _ = try adapter.receipts(webhook(body)) }
    }

    @Test("an inbound webhook gives the sender, our number, the full text and the id")
    func inbound() throws {
        let adapter = try InfobipAdapter(config: infobipConfig())
        // From Infobip's "Receive inbound SMS messages" reference.
        let body = #"{"results":[{"messageId":"817790313235066447","from":"385916242493","to":"385921004026","text":"QUIZ Correct answer is Paris","cleanText":"Correct answer is Paris","keyword":"QUIZ","receivedAt":"2016-10-06T09:28:39.220+0000","smsCount":1,"price":{"pricePerMessage":0,"currency":"EUR"},"callbackData":"callbackData"}],"messageCount":1,"pendingMessageCount":0}"#
        #expect(try adapter.inbound(webhook(body)) == InboundMessage(providerMessageID: "817790313235066447", from: "385916242493",
                                                                      to: "385921004026", text: "QUIZ Correct answer is Paris"))
    }

    @Test("malformed inbound webhooks throw", arguments: ["", "[]", #"{"results":[]}"#, #"{"results":[{"text":"hi"}]}"#])
    func malformedInbound(_ body: String) throws {
        let adapter = try InfobipAdapter(config: infobipConfig())
        #expect(throws: WebhookError.self) { _ = try adapter.inbound(webhook(body)) }
    }
}
