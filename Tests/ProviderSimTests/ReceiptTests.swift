import Curl
import Foundation
import ProviderSim
import Providers
import Testing

@Suite("Delivery receipts")
struct ReceiptTests {
    typealias Sim = RunningSimulator

    @Test("a Twilio receipt arrives at the StatusCallback with a valid X-Twilio-Signature")
    func twilioReceipt() async throws {
        try await CallbackServer.with { server in
            try await Sim.with { sim in
                let callback = server.baseURL + "/webhooks/p1/status?token=a%20b"
                let response = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi"),
                                                         ("StatusCallback", callback)])
                let sid = try #require(try response.jsonObject()["sid"] as? String)
                let receipt = try #require(try await server.next().first)
                #expect(receipt.url == callback)
                let signature = try #require(receipt.headers["x-twilio-signature"])
                #expect(TwilioSignature.isValid(signature, url: callback, parameters: receipt.form, authToken: Sim.authToken))
                #expect(!TwilioSignature.isValid(signature, url: callback, parameters: receipt.form, authToken: "other"))
                #expect(receipt.value("MessageSid") == sid)
                #expect(receipt.value("SmsSid") == sid)
                #expect(receipt.value("MessageStatus") == "delivered")
                #expect(receipt.value("AccountSid") == Sim.accountSID)
                #expect(receipt.value("To") == "+14155550100")
                #expect(receipt.value("From") == "+15005550006")
                #expect(receipt.value("ApiVersion") == "2010-04-01")
                #expect(receipt.value("ErrorCode") == nil)
                _ = try await sim.waitForStats { $0["receipts_sent"] == 1 }
            }
        }
    }

    @Test("with --sent-receipts a Twilio message gets sent, then delivered")
    func sentThenDelivered() async throws {
        try await CallbackServer.with { server in
            try await Sim.with({ $0.sentReceipts = true }) { sim in
                _ = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi"),
                                              ("StatusCallback", server.baseURL + "/status")])
                let receipts = try await server.next(2)
                #expect(receipts.map { $0.value("MessageStatus") } == ["sent", "delivered"])
            }
        }
    }

    @Test("undelivered-rate 1 makes every receipt undelivered with an error code")
    func undelivered() async throws {
        try await CallbackServer.with { server in
            try await Sim.with({ $0.undeliveredRate = 1 }) { sim in
                _ = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi"),
                                              ("StatusCallback", server.baseURL + "/twilio")])
                let twilio = try #require(try await server.next().first)
                #expect(twilio.value("MessageStatus") == "undelivered")
                #expect(twilio.value("ErrorCode") == "30003")

                _ = try await sim.sendVonage(VonageTests.credentials + [("from", "Herald"), ("to", "447700900000"), ("text", "hi"),
                                                                        ("callback", server.baseURL + "/vonage")])
                let vonage = try #require(try await server.next().first)
                #expect(vonage.value("status") == "failed")
                #expect(vonage.value("err-code").map { $0 != "0" } == true)
                #expect(try await sim.listedMessages().allSatisfy { $0["receipt"] as? String == "undelivered" })
            }
        }
    }

    @Test("a Vonage receipt per part arrives at the callback with a valid sig")
    func vonageReceipt() async throws {
        try await CallbackServer.with { server in
            try await Sim.with { sim in
                let response = try await sim.sendVonage(VonageTests.credentials + [
                    ("from", "Herald"), ("to", "447700900000"), ("text", String(repeating: "x", count: 200)),
                    ("callback", server.baseURL + "/webhooks/v/status"), ("client-ref", "m-1"),
                ])
                let ids = try #require(try response.jsonObject()["messages"] as? [[String: Any]]).compactMap { $0["message-id"] as? String }
                #expect(ids.count == 2)
                let receipts = try await server.next(2)
                #expect(Set(receipts.compactMap { $0.value("messageId") }) == Set(ids))
                for receipt in receipts {
                    #expect(VonageSignature.isValid(parameters: receipt.form, secret: "sim-signature-secret"))
                    #expect(!VonageSignature.isValid(parameters: receipt.form, secret: "other"))
                    #expect(receipt.value("status") == "delivered")
                    #expect(receipt.value("err-code") == "0")
                    #expect(receipt.value("msisdn") == "447700900000")
                    #expect(receipt.value("to") == "Herald")
                    #expect(receipt.value("api-key") == "abc123")
                    #expect(receipt.value("client-ref") == "m-1")
                    #expect(receipt.value("timestamp") != nil)
                    #expect(receipt.value("nonce") != nil)
                    #expect(receipt.value("message-timestamp")?.wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/) != nil)
                }
            }
        }
    }

    @Test("Vonage receipts follow the configured signature method")
    func vonageSignatureMethod() async throws {
        try await CallbackServer.with { server in
            try await Sim.with({ $0.signatureMethod = .sha256; $0.signatureSecret = "s3cret" }) { sim in
                _ = try await sim.sendVonage(VonageTests.credentials + [("from", "Herald"), ("to", "447700900000"), ("text", "hi"),
                                                                        ("callback", server.baseURL + "/v")])
                let receipt = try #require(try await server.next().first)
                #expect(VonageSignature.isValid(parameters: receipt.form, secret: "s3cret", method: .sha256))
            }
        }
    }

    @Test("a call's status callback says completed, signed like a message receipt")
    func callStatus() async throws {
        try await CallbackServer.with { server in
            try await Sim.with { sim in
                let callback = server.baseURL + "/calls"
                let response = try await sim.post(sim.twilioCallsURL, form: [
                    ("To", "+14155550100"), ("From", "+15005550006"), ("Url", "https://example.com/twiml"), ("StatusCallback", callback),
                ], basicAuth: (Sim.accountSID, Sim.authToken))
                let sid = try #require(try response.jsonObject()["sid"] as? String)
                let receipt = try #require(try await server.next().first)
                #expect(receipt.value("CallSid") == sid)
                #expect(receipt.value("CallStatus") == "completed")
                #expect(receipt.value("CallDuration") != nil)
                let signature = try #require(receipt.headers["x-twilio-signature"])
                #expect(TwilioSignature.isValid(signature, url: callback, parameters: receipt.form, authToken: Sim.authToken))
            }
        }
    }

    @Test("receipts that cannot be delivered are retried, then counted as failed")
    func failedReceipts() async throws {
        try await CallbackServer.with(status: 500) { server in
            try await Sim.with({ $0.receiptRetries = 2; $0.receiptRetryDelay = .milliseconds(10) }) { sim in
                _ = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi"),
                                              ("StatusCallback", server.baseURL + "/status")])
                let attempts = try await server.next(3)
                #expect(attempts.count == 3)
                let stats = try await sim.waitForStats { $0["receipts_failed"] == 1 }
                #expect(stats["receipts_sent"] == 0)
            }
        }
    }

    @Test("a receipt delay holds the receipt back")
    func receiptDelay() async throws {
        try await CallbackServer.with { server in
            try await Sim.with({ $0.receiptDelayMs = 300 }) { sim in
                let start = ContinuousClock.now
                _ = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi"),
                                              ("StatusCallback", server.baseURL + "/status")])
                _ = try await server.next()
                #expect(ContinuousClock.now - start >= .milliseconds(300))
            }
        }
    }
}
