import Curl
import Foundation
import ProviderSim
import Providers
import Testing

@Suite("Vonage API")
struct VonageTests {
    typealias Sim = RunningSimulator
    static let credentials = [("api_key", "abc123"), ("api_secret", "sim-api-secret")]

    @Test("a multi-part Vonage text gets one message entry per part")
    func multipart() async throws {
        try await Sim.with { sim in
            let text = String(repeating: "Hello world ", count: 20)  // 240 GSM-7 characters: 2 parts
            let response = try await sim.sendVonage(Self.credentials + [("from", "Herald"), ("to", "447700900000"), ("text", text),
                                                                        ("client-ref", "ref-1")])
            #expect(response.status == 200)
            let json = try response.jsonObject()
            #expect(json["message-count"] as? String == "2")
            let messages = try #require(json["messages"] as? [[String: Any]])
            #expect(messages.count == 2)
            for message in messages {
                #expect(message["status"] as? String == "0")
                #expect(message["to"] as? String == "447700900000")
                #expect((message["message-id"] as? String)?.wholeMatch(of: /[0-9A-F]{16}/) != nil)
                #expect(message["remaining-balance"] is String)
                #expect(message["message-price"] is String)
                #expect(message["network"] is String)
                #expect(message["client-ref"] as? String == "ref-1")
            }
            #expect(messages[0]["message-id"] as? String != messages[1]["message-id"] as? String)

            let listed = try await sim.listedMessages()
            #expect(listed.count == 1)
            #expect(listed.first?["api"] as? String == "vonage")
            #expect(listed.first?["to"] as? String == "+447700900000")
            #expect(listed.first?["id"] as? String == messages[0]["message-id"] as? String)
            #expect(listed.first?["segments"] as? Int == 2)
        }
    }

    @Test("type=unicode counts UCS-2 parts even for plain text")
    func unicodeParts() async throws {
        try await Sim.with { sim in
            let response = try await sim.sendVonage(Self.credentials + [("from", "Herald"), ("to", "447700900000"),
                                                                        ("text", String(repeating: "a", count: 80)), ("type", "unicode")])
            #expect(try response.jsonObject()["message-count"] as? String == "2")
        }
    }

    @Test("a JSON body works like a form")
    func jsonBody() async throws {
        try await Sim.with { sim in
            let body = #"{"api_key":"abc","api_secret":"sim-api-secret","from":"Herald","to":"447700900000","text":"hi"}"#
            let response = try await sim.postJSON("/sms/json", body)
            let json = try response.jsonObject()
            #expect(json["message-count"] as? String == "1")
            #expect((json["messages"] as? [[String: Any]])?.first?["status"] as? String == "0")
        }
    }

    static let refusalCases: [([(String, String)], String, String)] = [
        ([("api_key", "abc"), ("api_secret", "sim-api-secret"), ("from", "Herald"), ("text", "hi")], "2", "invalid"),
        ([("api_key", "abc"), ("api_secret", "sim-api-secret"), ("to", "447700900000"), ("text", "hi")], "2", "invalid"),
        ([("api_key", "abc"), ("api_secret", "sim-api-secret"), ("from", "Herald"), ("to", "447700900000")], "2", "invalid"),
        ([("api_secret", "sim-api-secret"), ("from", "Herald"), ("to", "447700900000"), ("text", "hi")], "2", "invalid"),
        ([("api_key", "abc"), ("api_secret", "wrong"), ("from", "Herald"), ("to", "447700900000"), ("text", "hi")], "4", "unauthorized"),
        ([("api_key", "abc"), ("sig", "00"), ("from", "Herald"), ("to", "447700900000"), ("text", "hi")], "14", "unauthorized"),
        ([("api_key", "abc"), ("api_secret", "sim-api-secret"), ("from", "Herald"), ("to", "07700 900000"), ("text", "hi")], "3", "invalid"),
    ]

    @Test("refusals carry Vonage's status codes with HTTP 200", arguments: refusalCases)
    func refusals(form: [(String, String)], status: String, counter: String) async throws {
        try await Sim.with { sim in
            let response = try await sim.sendVonage(form)
            #expect(response.status == 200)
            let json = try response.jsonObject()
            #expect(json["message-count"] as? String == "1")
            let message = try #require((json["messages"] as? [[String: Any]])?.first)
            #expect(message["status"] as? String == status)
            #expect(message["error-text"] is String)
            #expect(try await sim.stats()[counter] == 1)
        }
    }

    @Test("a request signed with the signature secret needs no api_secret")
    func signedRequest() async throws {
        try await Sim.with { sim in
            var form = [("api_key", "abc"), ("from", "Herald"), ("to", "447700900000"), ("text", "hi"),
                        ("timestamp", String(Int(Date().timeIntervalSince1970)))]
            form.append(("sig", VonageSignature.signature(parameters: form, secret: "sim-signature-secret")))
            let response = try await sim.sendVonage(form)
            #expect((try response.jsonObject()["messages"] as? [[String: Any]])?.first?["status"] as? String == "0")
        }
    }
}
