import Curl
import Foundation
import ProviderSim
import Testing

@Suite("Twilio API")
struct TwilioTests {
    typealias Sim = RunningSimulator

    @Test("a Twilio message is accepted with Twilio's fields and listed in /sim/messages")
    func acceptedMessage() async throws {
        try await Sim.with { sim in
            let response = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "Hello \"there\"\n")])
            #expect(response.status == 201)
            #expect(response.headers["Content-Type"]?.hasPrefix("application/json") == true)
            let json = try response.jsonObject()
            let sid = try #require(json["sid"] as? String)
            #expect(sid.wholeMatch(of: /SM[0-9a-f]{32}/) != nil)
            #expect(json["account_sid"] as? String == Sim.accountSID)
            #expect(json["to"] as? String == "+14155550100")
            #expect(json["from"] as? String == "+15005550006")
            #expect(json["body"] as? String == "Hello \"there\"\n")
            #expect(json["status"] as? String == "queued")
            #expect(json["num_segments"] as? String == "1")
            #expect(json["direction"] as? String == "outbound-api")
            #expect(json["api_version"] as? String == "2010-04-01")
            #expect(json["error_code"] is NSNull)
            #expect(json["error_message"] is NSNull)
            #expect(json["uri"] as? String == "/2010-04-01/Accounts/\(Sim.accountSID)/Messages/\(sid).json")
            let created = try #require(json["date_created"] as? String)
            #expect(created.wholeMatch(of: /(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d \+0000/) != nil)

            let listed = try await sim.listedMessages()
            #expect(listed.count == 1)
            let message = try #require(listed.first)
            #expect(message["id"] as? String == sid)
            #expect(message["api"] as? String == "twilio")
            #expect(message["kind"] as? String == "sms")
            #expect(message["to"] as? String == "+14155550100")
            #expect(message["from"] as? String == "+15005550006")
            #expect(message["body"] as? String == "Hello \"there\"\n")
            let receivedAt = try #require(message["received_at"] as? String)
            #expect(receivedAt.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
        }
    }

    @Test("num_segments counts the parts of a long or non-GSM body")
    func segments() async throws {
        try await Sim.with { sim in
            let long = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", String(repeating: "a", count: 161))])
            #expect(try long.jsonObject()["num_segments"] as? String == "2")
            let unicode = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", String(repeating: "ж", count: 71))])
            #expect(try unicode.jsonObject()["num_segments"] as? String == "2")
        }
    }

    @Test("a messaging service may stand in for From")
    func messagingService() async throws {
        try await Sim.with { sim in
            let response = try await sim.sendTwilio([("To", "+14155550100"), ("MessagingServiceSid", "MG0123"), ("Body", "hi")])
            #expect(response.status == 201)
            let json = try response.jsonObject()
            #expect(json["messaging_service_sid"] as? String == "MG0123")
            #expect(json["from"] is NSNull)
        }
    }

    @Test("wrong or missing credentials get 401 with Twilio's 20003 body", arguments: [
        Optional((RunningSimulator.accountSID, "wrong-token")),
        Optional(("ACsomeoneelse", RunningSimulator.authToken)),
        nil,
    ])
    func unauthorized(credentials: (String, String)?) async throws {
        try await Sim.with { sim in
            let response = try await sim.post(sim.twilioMessagesURL, form: [("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi")],
                                              basicAuth: credentials)
            #expect(response.status == 401)
            let json = try response.jsonObject()
            #expect(json["code"] as? Int == 20003)
            #expect(json["message"] as? String == "Authenticate")
            #expect(json["more_info"] as? String == "https://www.twilio.com/docs/errors/20003")
            #expect(json["status"] as? Int == 401)
            let stats = try await sim.stats()
            #expect(stats["unauthorized"] == 1)
            #expect(stats["accepted"] == 0)
            #expect(try await sim.listedMessages().isEmpty)
        }
    }

    @Test("missing or bad message fields get Twilio's error codes", arguments: [
        ([("From", "+15005550006"), ("Body", "hi")], 21604),
        ([("To", "+14155550100"), ("From", "+15005550006")], 21602),
        ([("To", "+14155550100"), ("Body", "hi")], 21603),
        ([("To", "4155550100"), ("From", "+15005550006"), ("Body", "hi")], 21211),
        ([("To", "+1415555"), ("From", "+15005550006"), ("Body", String(repeating: "x", count: 1601))], 21617),
        ([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi"), ("StatusCallback", "ftp://example.com")], 21609),
    ])
    func invalidMessage(form: [(String, String)], code: Int) async throws {
        try await Sim.with { sim in
            let response = try await sim.sendTwilio(form)
            #expect(response.status == 400)
            let json = try response.jsonObject()
            #expect(json["code"] as? Int == code)
            #expect(json["status"] as? Int == 400)
            #expect(json["more_info"] as? String == "https://www.twilio.com/docs/errors/\(code)")
            #expect(try await sim.stats()["invalid"] == 1)
        }
    }

    @Test("a call is queued with a CA sid, and needs To, From and instructions")
    func calls() async throws {
        try await Sim.with { sim in
            let auth = (Sim.accountSID, Sim.authToken)
            let response = try await sim.post(sim.twilioCallsURL, form: [
                ("To", "+14155550100"), ("From", "+15005550006"), ("Twiml", "<Response><Say>Your code is 1 2 3</Say></Response>"),
            ], basicAuth: auth)
            #expect(response.status == 201)
            let json = try response.jsonObject()
            let sid = try #require(json["sid"] as? String)
            #expect(sid.wholeMatch(of: /CA[0-9a-f]{32}/) != nil)
            #expect(json["status"] as? String == "queued")
            #expect(json["to"] as? String == "+14155550100")
            #expect(json["uri"] as? String == "/2010-04-01/Accounts/\(Sim.accountSID)/Calls/\(sid).json")
            let listed = try await sim.listedMessages()
            #expect(listed.first?["kind"] as? String == "call")
            #expect(listed.first?["id"] as? String == sid)

            for (form, code) in [
                ([("From", "+15005550006"), ("Url", "https://example.com/x")], 21201),
                ([("To", "+14155550100"), ("Url", "https://example.com/x")], 21213),
                ([("To", "+14155550100"), ("From", "+15005550006")], 21205),
                ([("To", "nope"), ("From", "+15005550006"), ("Url", "https://example.com/x")], 21211),
            ] {
                let refused = try await sim.post(sim.twilioCallsURL, form: form, basicAuth: auth)
                #expect(refused.status == 400)
                #expect(try refused.jsonObject()["code"] as? Int == code)
            }
        }
    }

    @Test("unknown Twilio resources are 404 and other methods 405")
    func unknownResources() async throws {
        try await Sim.with { sim in
            let missing = try await sim.post(sim.baseURL + "/2010-04-01/Accounts/\(Sim.accountSID)/Faxes.json", form: [])
            #expect(missing.status == 404)
            #expect(try missing.jsonObject()["code"] as? Int == 20404)
            let get = try await sim.get("/2010-04-01/Accounts/\(Sim.accountSID)/Messages.json")
            #expect(get.status == 405)
            #expect(try await sim.get("/nowhere").status == 404)
        }
    }
}
