import Crypto
import Foundation
import SMS
import Herald
import HeraldHTTP
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Providers
import Testing

/// One provider's inbound webhook, built and signed as the provider would.
struct SignedInbound {
    var type: ProviderType
    var config: [String: JSONValue]
    /// Builds the request for `from` saying `text`: path+query (after the public URL), headers, body.
    var build: (_ provider: Provider, _ from: String, _ text: String, _ validSignature: Bool) -> (String, HTTPFields, [UInt8])
}

let publicURL = "http://127.0.0.1:8080"

func inboundFormats() -> [SignedInbound] {
    let telnyxKey = Curve25519.Signing.PrivateKey()
    let telnyxPublic = Data(telnyxKey.publicKey.rawRepresentation).base64EncodedString()
    func form(_ pairs: [(String, String)]) -> [UInt8] { Array(FormEncoding.encode(pairs).utf8) }
    func json(_ object: Any) -> [UInt8] { Array(try! JSONSerialization.data(withJSONObject: object)) }
    func tokenPath(_ provider: Provider, valid: Bool) -> String {
        "/webhooks/\(provider.id.uuidString.lowercased())/inbound?token=\(valid ? provider.webhookToken : "wrong")"
    }
    func path(_ provider: Provider) -> String { "/webhooks/\(provider.id.uuidString.lowercased())/inbound" }
    let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    let jsonType: HTTPFields = [.contentType: "application/json"]
    return [
        SignedInbound(type: .twilio, config: ["account_sid": .string("AC" + String(repeating: "1", count: 32)), "auth_token": .string("twilio-token"), "from": .string("+15005550006")]) { provider, from, text, valid in
            let params = [("From", from), ("To", "+15005550006"), ("Body", text), ("MessageSid", "SM" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()), ("AccountSid", "AC" + String(repeating: "1", count: 32))]
            var headers = formType
            headers[HTTPField.Name("X-Twilio-Signature")!] = TwilioSignature.signature(url: publicURL + path(provider), parameters: params, authToken: valid ? "twilio-token" : "other")
            return (path(provider), headers, form(params))
        },
        SignedInbound(type: .vonage, config: ["api_key": .string("key"), "api_secret": .string("secret"), "signature_secret": .string("vonage-signing"), "from": .string("15005550006")]) { provider, from, text, valid in
            var params = [("msisdn", String(from.dropFirst())), ("to", "15005550006"), ("messageId", UUID().uuidString), ("text", text), ("type", "text"),
                          ("keyword", text.uppercased()), ("message-timestamp", "2026-11-27 00:00:00"), ("timestamp", String(Int(Date().timeIntervalSince1970))), ("nonce", UUID().uuidString)]
            params.append(("sig", VonageSignature.signature(parameters: params, secret: valid ? "vonage-signing" : "other")))
            return (path(provider), formType, form(params))
        },
        SignedInbound(type: .plivo, config: ["auth_id": .string("MAXXXXXXXXXXXXXXXXXX"), "auth_token": .string("plivo-token"), "from": .string("+15005550006")]) { provider, from, text, valid in
            let params = [("From", String(from.dropFirst())), ("To", "15005550006"), ("Text", text), ("Type", "sms"), ("MessageUUID", UUID().uuidString)]
            let nonce = "12345678901234567890"
            var headers = formType
            headers[HTTPField.Name("X-Plivo-Signature-V3")!] = PlivoSignature.signature(method: "POST", url: publicURL + path(provider), parameters: params, nonce: nonce, authToken: valid ? "plivo-token" : "other")!
            headers[HTTPField.Name("X-Plivo-Signature-V3-Nonce")!] = nonce
            return (path(provider), headers, form(params))
        },
        SignedInbound(type: .sinch, config: ["service_plan_id": .string("plan"), "api_token": .string("tok"), "webhook_secret": .string("sinch-secret"), "from": .string("15005550006")]) { provider, from, text, valid in
            let body = json(["type": "mo_text", "id": UUID().uuidString, "from": String(from.dropFirst()), "to": "15005550006", "body": text,
                             "received_at": "2026-11-27T00:00:00.000Z"])
            var headers = jsonType
            for (name, value) in SinchSignature.headers(body: body, secret: valid ? "sinch-secret" : "other", nonce: UUID().uuidString, timestamp: Date()) {
                headers[HTTPField.Name(name)!] = value
            }
            return (path(provider), headers, body)
        },
        SignedInbound(type: .infobip, config: ["api_key": .string("ib-key"), "base_url": .string("https://xyz.api.infobip.com"), "from": .string("Herald")]) { provider, from, text, valid in
            let body = json(["results": [["messageId": UUID().uuidString, "from": String(from.dropFirst()), "to": "15005550006", "text": text,
                                          "cleanText": text, "keyword": text.uppercased(), "receivedAt": "2026-11-27T00:00:00.000+0000", "smsCount": 1]],
                             "messageCount": 1, "pendingMessageCount": 0])
            return (tokenPath(provider, valid: valid), jsonType, body)
        },
        SignedInbound(type: .telnyx, config: ["api_key": .string("KEY"), "public_key": .string(telnyxPublic), "from": .string("+15005550006")]) { provider, from, text, valid in
            let body = json(["data": ["event_type": "message.received", "id": UUID().uuidString, "record_type": "event",
                                      "payload": ["id": UUID().uuidString, "from": ["phone_number": from], "to": [["phone_number": "+15005550006"]],
                                                  "text": text, "direction": "inbound", "type": "SMS"]]])
            let timestamp = String(Int(Date().timeIntervalSince1970))
            var headers = jsonType
            let signer = valid ? telnyxKey : Curve25519.Signing.PrivateKey()
            headers[HTTPField.Name("telnyx-signature-ed25519")!] = try! TelnyxSignature.signature(timestamp: timestamp, body: body, privateKey: signer)
            headers[HTTPField.Name("telnyx-timestamp")!] = timestamp
            return (path(provider), headers, body)
        },
        SignedInbound(type: .http, config: ["url": .string("https://sms.example.com/send")]) { provider, from, text, valid in
            (tokenPath(provider, valid: valid), jsonType, json(["from": from, "to": "+15005550006", "text": text, "id": UUID().uuidString]))
        },
    ]
}

@Suite(.serialized) struct WebhookTests {
    @Test("an inbound STOP in each provider's format unsubscribes; marketing is refused after, transactional still goes")
    func stopPerProvider() async throws {
        try await TestHerald.with(publicURL: publicURL) { herald in
            let auth = try await herald.bearer(["messages"])
            for (index, format) in inboundFormats().enumerated() {
                let provider = try await herald.core.providers.create(
                    ProviderInput(name: "in-\(format.type.rawValue)", type: format.type.rawValue, config: format.config))
                let sender = "+1415555\(String(format: "%04d", 200 + index))"
                let type = format.type
                let (badPath, badHeaders, badBody) = format.build(provider, sender, "STOP", false)
                let (path, headers, body) = format.build(provider, sender, "Stop", true)
                let (startPath, startHeaders, startBody) = format.build(provider, sender, "START", true)
                try await herald.test { client in
                    // A wrong signature (or token) changes nothing.
                    try await client.execute(uri: badPath, method: .post, headers: badHeaders, body: ByteBuffer(bytes: badBody)) { response in
                        #expect(response.status == .forbidden, "\(type)")
                        #expect(response.errorCode == "invalid_signature", "\(type)")
                    }
                    #expect(try await herald.core.consent.isSubscribed(phone: sender) == nil, "\(type)")

                    try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                        #expect(response.status == .ok, "\(type): \(String(buffer: response.body))")
                    }
                    #expect(try await herald.core.consent.isSubscribed(phone: sender) == false, "\(type)")
                    let ledger = try await herald.core.consent.ledger(phone: sender)
                    #expect(ledger.count == 1 && ledger[0].action == "unsubscribe" && ledger[0].source == "inbound_keyword"
                            && ledger[0].text == "Stop" && ledger[0].messageID != nil, "\(type)")

                    try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                             body: jsonBody(["to": sender, "body": "Sale!", "kind": "marketing"])) { response in
                        #expect(response.status == .conflict, "\(type)")
                        #expect(response.errorCode == "recipient_unsubscribed")
                    }
                    try await client.execute(uri: "/v1/messages", method: .post, headers: auth.json,
                                             body: jsonBody(["to": sender, "body": "Your code is 1234"])) { response in
                        #expect(response.status == .accepted, "\(type)")
                    }

                    // START resubscribes, with its own ledger entry.
                    try await client.execute(uri: startPath, method: .post, headers: startHeaders, body: ByteBuffer(bytes: startBody)) { response in
                        #expect(response.status == .ok, "\(type)")
                    }
                    #expect(try await herald.core.consent.isSubscribed(phone: sender) == true, "\(type)")
                    #expect(try await herald.core.consent.ledger(phone: sender).map(\.action) == ["unsubscribe", "subscribe"])
                }
            }
            // Each STOP and START queued a reply from the number texted, through the same provider.
            let replies = try await herald.pool.query(
                "SELECT count(*)::int FROM messages WHERE pinned_provider_id IS NOT NULL AND kind = 'transactional'")
            #expect(try replies[0].decode(0, as: Int.self) == 14)
        }
    }

    @Test("HELP gets the help reply; other texts are stored and change nothing")
    func helpAndPlainText() async throws {
        try await TestHerald.with(publicURL: publicURL) { herald in
            let format = inboundFormats()[0]
            let provider = try await herald.core.providers.create(ProviderInput(name: "tw", type: "twilio", config: format.config))
            let requests = ["help", "please stop texting me"].map { format.build(provider, "+14155550300", $0, true) }
            try await herald.test { client in
                for (path, headers, body) in requests {
                    try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                        #expect(response.status == .ok)
                        #expect(response.headers[.contentType]?.hasPrefix("text/xml") == true || response.headers[.contentType]?.contains("xml") == true)
                    }
                }
            }
            let replies = try await herald.pool.query("SELECT body, sender FROM messages")
            #expect(replies.count == 1)
            #expect(try replies[0].decode(0, as: String.self).contains("reply STOP to opt out"))
            #expect(try replies[0].decode(1, as: String?.self) == "+15005550006")
            #expect(try await herald.core.consent.isSubscribed(phone: "+14155550300") == nil)
            let stored = try await herald.pool.query("SELECT count(*)::int FROM inbound_messages")
            #expect(try stored[0].decode(0, as: Int.self) == 2)
        }
    }

    @Test("malformed webhook bodies get invalid_webhook; unknown providers 404")
    func malformed() async throws {
        try await TestHerald.with(publicURL: publicURL) { herald in
            let http = try await herald.core.providers.create(ProviderInput(name: "h", type: "http", config: ["url": .string("https://x.example/send")]))
            try await herald.test { client in
                let path = "/webhooks/\(http.id.uuidString.lowercased())/status?token=\(http.webhookToken)"
                for body in ["{", "{\"status\": 5}", "{\"provider_message_id\": \"x\", \"status\": \"teleported\"}", String(repeating: "x", count: 300_000)] {
                    try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)) { response in
                        #expect([.badRequest, .contentTooLarge].contains(response.status), "\(body.prefix(10))")
                    }
                }
                try await client.execute(uri: "/webhooks/\(UUID().uuidString)/status", method: .post, body: ByteBuffer(string: "a=b")) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/webhooks/not-a-uuid/inbound", method: .post, body: ByteBuffer(string: "a=b")) { response in
                    #expect(response.status == .notFound)
                }
            }
        }
    }
}
