import Crypto
import Foundation
import Providers
import Testing
import _CryptoExtras

@Suite struct VonageAdapterTests {
    /// A 2048-bit RSA key made for these tests only (PKCS#8, as Vonage's dashboard hands them out).
    static let privateKey = """
        -----BEGIN PRIVATE KEY-----
        MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDf2fyX27ysyV0o
        0Fem1zc1fancR4gC/BbexD5gOyJ30N99JRwZsugHpJxCI8GrT9nQPQmibot3gPjw
        Vq8XrD4MkMWiGlEA9u0KGidnVDuFjosf/VVxb+AqSEKOH+iLmz08FEnQan/g0irA
        SL9WbcNObDK+nz+DV56OWKX/cLjieWo2PdKXcsF3bF5VnhSa23dmcF9W+zS+vHNy
        NzfEehu2EFsVQnsQKmL8eufU8lGnap8ztgGXCOOtALw3vsnqR8sv1eMLgE9sxAQ1
        N4Jgmgxn99mL1f1/JqZgsK5gpK4MSLewgCy2s3+ApkEwmSOvoqZFhqvQ5U/ua/Ra
        nQn/6iUxAgMBAAECggEATPHCCHToisAAfKn4pwmtGX7jZytTTitWtSXhhvRsqaCr
        YXnjCdZcOVxUtctSo88jwJdqe2HiIKa9audw8gMrpOgSduDy3REDc4h/6N2kRAk2
        Oz26I+7fr8j8z5uaNHqc9szGfpRM9ntnZIbc9hlum8NHQgy9KSlx/93q2T3m3zlW
        O2TGdoN3s5IfKW7KZgVgx9vLQHVJvhFaaBxVxWh36iO6tLD+gwwtB7BGYvjGWNsT
        rZdWI4CzGsPs/ak2ukQWs8d5m/nZpF7TBPGGJZx1sLT+dIKD287KeZ/Ly6zNrpze
        IysjTJM2KyOenXEV1oHARq7ItE0jvxAQW/1BnJuzDQKBgQDx6IyIp0wdwgEC+zCj
        6As+8AsYc28sRHNVY83JonPpKWvFMAym4Csaflfk0hsHsIIUnaec2mK2MsaGInx4
        zaRErffDebokcRiY/FoyFbm553hlEg+p7r16CLD2IrIUUlHqDadYBL+q1/MclPyX
        CJg/2Eh8CF2Momb8aCwEiYFd0wKBgQDs5CpAF+0cnH/zo0Wt1A5W1g1rYzp1gzd8
        ecWVV5Snl9c0At/EEpoKBoxm5irbcOixwxp/15tRZ9QYin08SY1MKlD57SANHZj+
        Ph6zroWCDDCBpwEb4zPcXpwYzDhK7yFxwbKP/aSo3nReyqPGGlWiGEuXiXYLrymO
        aFw07p2aawKBgDaeR+SuyTvKysmuh0vqn2dlcUvi/E3lYpj8AMGu4TbauE98Ss7+
        vByuPBAY9CtnSed3tRlwIWt7yWENtkbcP2OWV+OVv1ZtBp28FG1MhHOZ9I/1ZP38
        PmGoRrQ8HzMBZydOT+NKpy/etDBW3zUGpsF7htoiVWTkYhZJOu8HUOMrAoGBAM/9
        II93smrNiZYbw4D0z8Y0WEHyNJCarevvaqhN5iojqgJzh446mt60ky+BZR2Yi+YP
        nEOkxSz7UYBej8iP96xo9wIIzXxWgU6wsfom//eHxkr/m3ylxpH0y28GV2KLhLzB
        SYsdMyZFcr0LhDHaS1dvp2ccfPWTTJRJUrPy0ZOTAoGBAKZaqsLdeGXz32jstwnD
        MOPf25ovUQ0Q6Ra6GTX2kHCaxxHUnNhVtqIJeuMXbCaBg94xPgFgI8BAy4NGH8Lx
        H42lUSYxd/Js7Vn7Fmo7rRoQjjCDOssODsUEZxolYPzOJNrhL540zJqIK9PnpKrP
        bCxxKOsP6F91HoyHPmHqeY7H
        -----END PRIVATE KEY-----
        """

    static let now = Date(timeIntervalSince1970: 1_735_689_600) // 2025-01-01T00:00:00Z

    static func adapter(baseURL: String = "https://rest.nexmo.com", voiceBaseURL: String = "https://api.nexmo.com",
                        extra: [String: String] = [:]) throws -> VonageAdapter {
        var values = ["api_key": "abcd1234", "api_secret": "s3cr3t&=", "from": "AcmeInc", "base_url": baseURL, "voice_base_url": voiceBaseURL]
        values.merge(extra) { _, new in new }
        return try VonageAdapter(config: Fixtures.config(values), clock: { Self.now })
    }

    static let voiceExtra = ["application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab", "private_key": privateKey, "from": "+447700900000"]

    // MARK: Configuration

    @Test("config errors name the missing or wrong key")
    func configErrors() {
        expectConfigError("api_key") { () throws(ProviderConfigError) in try VonageAdapter(config: Fixtures.config(["api_secret": "s"])) }
        expectConfigError("api_secret") { () throws(ProviderConfigError) in try VonageAdapter(config: Fixtures.config(["api_key": "k"])) }
        expectConfigError("signature_method") { () throws(ProviderConfigError) in
            try VonageAdapter(config: Fixtures.config(["api_key": "k", "api_secret": "s", "signature_method": "crc32"]))
        }
        expectConfigError("private_key") { () throws(ProviderConfigError) in
            try VonageAdapter(config: Fixtures.config(["api_key": "k", "api_secret": "s", "application_id": "app"]))
        }
        expectConfigError("application_id") { () throws(ProviderConfigError) in
            try VonageAdapter(config: Fixtures.config(["api_key": "k", "api_secret": "s", "private_key": Self.privateKey]))
        }
        expectConfigError("private_key") { () throws(ProviderConfigError) in
            try VonageAdapter(config: Fixtures.config(["api_key": "k", "api_secret": "s", "application_id": "app", "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"]))
        }
        expectConfigError("voice_base_url") { () throws(ProviderConfigError) in
            try VonageAdapter(config: Fixtures.config(["api_key": "k", "api_secret": "s", "voice_base_url": "not a url"]))
        }
    }

    @Test("webhooks are signed only when a signature secret is configured")
    func webhookAuthenticationFollowsConfig() throws {
        #expect(try Self.adapter().webhookAuthentication == .urlToken)
        #expect(try Self.adapter(extra: ["signature_secret": "x"]).webhookAuthentication == .signature)
        #expect(try !Self.adapter().verifySignature(Fixtures.post(Fixtures.callback, form: [("sig", "x")]), now: Self.now))
    }

    @Test("a private key whose line breaks arrived as \\n is still read")
    func escapedNewlinesInKey() throws {
        let escaped = Self.privateKey.replacingOccurrences(of: "\n", with: "\\n")
        let adapter = try Self.adapter(extra: Self.voiceExtra.merging(["private_key": escaped]) { _, new in new })
        _ = try adapter.voiceRequest(Fixtures.message(channel: .voice))
    }

    // MARK: Over real HTTP

    @Test("an SMS posts the documented form to /sms/json without plus signs, and the first message-id comes back")
    func smsOverHTTP() async throws {
        // The success example of "Send an SMS".
        let sent = #"{"message-count":"1","messages":[{"to":"4915112345678","message-id":"0A0000000123ABCD1","status":"0","remaining-balance":"3.14159265","message-price":"0.03330000","network":"12345","client-ref":"6f9619ff-8b86-d011-b42d-00cf4fc964ff"}]}"#
        try await LoopbackProvider.run(reply: { _ in .json(200, sent) }) { provider in
            let adapter = try Self.adapter(baseURL: provider.baseURL)
            let response = try await provider.send(try adapter.smsRequest(Fixtures.message()))
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/sms/json")
            #expect(seen.header("content-type") == "application/x-www-form-urlencoded")
            #expect(seen.header("authorization") == nil)
            let form = try seen.form()
            #expect(form.map(\.0) == ["api_key", "api_secret", "from", "to", "text", "callback", "client-ref"])
            #expect(form.value("api_key") == "abcd1234")
            #expect(form.value("api_secret") == "s3cr3t&=")
            #expect(form.value("from") == "AcmeInc")
            #expect(form.value("to") == "4915112345678")
            #expect(form.value("text") == "Your code is 123456 & more")
            #expect(form.value("callback") == Fixtures.callback)
            #expect(form.value("client-ref") == "6f9619ff-8b86-d011-b42d-00cf4fc964ff")
            #expect(adapter.interpret(response, channel: .sms) == .accepted(providerMessageID: "0A0000000123ABCD1"))
        }
    }

    @Test("UCS-2 text is sent as type=unicode and a numeric sender loses its plus")
    func unicodeSMS() throws {
        let adapter = try Self.adapter(extra: ["from": "+447700900000"])
        let form = try FormEncoding.decode(try adapter.smsRequest(Fixtures.message(text: "Код 1234", unicode: true)).body)
        #expect(form.value("type") == "unicode")
        #expect(form.value("from") == "447700900000")
        #expect(form.value("text") == "Код 1234")
    }

    @Test("HTTP 200 with a non-zero status is a failure classified by Vonage's status code")
    func statusErrors() async throws {
        let cases: [(String, ProviderFailure.Category)] = [
            (#"{"message-count":"1","messages":[{"status":"1","error-text":"Throughput Rate Exceeded - please wait [ 1 ] and retry"}]}"#, .throttled),
            (#"{"message-count":"1","messages":[{"status":"2","error-text":"Missing to param"}]}"#, .rejected),
            (#"{"message-count":"1","messages":[{"status":"4","error-text":"Bad Credentials"}]}"#, .account),
            (#"{"message-count":"1","messages":[{"status":"5","error-text":"Internal Error"}]}"#, .unavailable),
            (#"{"message-count":"1","messages":[{"status":"6","error-text":"Unroutable message - rejected"}]}"#, .invalidNumber),
            (#"{"message-count":"1","messages":[{"status":"7","error-text":"Number barred."}]}"#, .blocked),
            (#"{"message-count":"1","messages":[{"status":"9","error-text":"Quota Exceeded - rejected"}]}"#, .account),
            (#"{"message-count":"1","messages":[{"status":"15","error-text":"Illegal Sender Address - rejected"}]}"#, .account),
            (#"{"message-count":"1","messages":[{"status":"29","error-text":"Non White-listed Destination - rejected"}]}"#, .account),
        ]
        for (body, category) in cases {
            try await LoopbackProvider.run(reply: { _ in .json(200, body) }) { provider in
                let adapter = try Self.adapter(baseURL: provider.baseURL)
                let response = try await provider.send(try adapter.smsRequest(Fixtures.message()))
                let (failure, _) = try #require(failureOf(adapter.interpret(response, channel: .sms)))
                #expect(failure.category == category)
                let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                let part = (object?["messages"] as? [[String: Any]])?.first
                #expect(failure.code == part?["status"] as? String)
                #expect(failure.message == part?["error-text"] as? String)
            }
        }
    }

    @Test("a multi-part message is accepted only when every part is, with the first part's id")
    func multipart() throws {
        let adapter = try Self.adapter()
        let good = #"{"message-count":"2","messages":[{"to":"4915112345678","message-id":"0A00000001","status":"0"},{"to":"4915112345678","message-id":"0A00000002","status":"0"}]}"#
        #expect(adapter.interpret(.json(200, good), channel: .sms) == .accepted(providerMessageID: "0A00000001"))
        let half = #"{"message-count":"2","messages":[{"to":"4915112345678","message-id":"0A00000001","status":"0"},{"status":"1","error-text":"Throughput Rate Exceeded"}]}"#
        let (failure, _) = try #require(failureOf(adapter.interpret(.json(200, half), channel: .sms)))
        #expect(failure.category == .throttled)
        #expect(failure.code == "1")
    }

    @Test("HTTP errors: 401 is the account, 429 and 5xx are transient with Retry-After")
    func httpErrors() async throws {
        let cases: [(WireResponse, ProviderFailure.Category, String, Duration?)] = [
            (.json(401, #"{"type":"https://developer.nexmo.com/api-errors#unauthorized","title":"Unauthorized","detail":"You did not provide correct credentials.","instance":"797a8f199c45014ab7b08bfe9cc1c12c"}"#), .account, "unauthorized", nil),
            (.json(429, #"{"type":"https://developer.nexmo.com/api-errors#throttled","title":"Throttled"}"#, headers: ["Retry-After": "2"]), .throttled, "throttled", .seconds(2)),
            (WireResponse(status: 503, headers: ["Retry-After": "9"]), .unavailable, "503", .seconds(9)),
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

    @Test("a voice call posts an NCCO talk action to /v1/calls with an RS256 JWT for the application")
    func voiceOverHTTP() async throws {
        let created = #"{"uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356","status":"started","direction":"outbound","conversation_uuid":"CON-f972836a-550f-45fa-956c-12a2ab5b7d22"}"#
        try await LoopbackProvider.run(reply: { _ in .json(201, created) }) { provider in
            let adapter = try Self.adapter(voiceBaseURL: provider.baseURL, extra: Self.voiceExtra)
            let response = try await provider.send(try adapter.voiceRequest(Fixtures.message(text: "Ihr Code ist 1 2 3", channel: .voice, locale: "de_DE")))
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/v1/calls")
            #expect(seen.header("content-type") == "application/json")
            let body = try seen.json()
            #expect((body["to"] as? [[String: String]]) == [["type": "phone", "number": "4915112345678"]])
            #expect((body["from"] as? [String: String]) == ["type": "phone", "number": "447700900000"])
            #expect((body["ncco"] as? [[String: String]]) == [["action": "talk", "text": "Ihr Code ist 1 2 3", "language": "de-DE"]])
            #expect((body["event_url"] as? [String]) == [Fixtures.callback])
            #expect(body["event_method"] as? String == "POST")

            // The bearer token: RS256 over header.claims, verifiable with the key's public half.
            let authorization = try #require(seen.header("authorization"))
            #expect(authorization.hasPrefix("Bearer "))
            let parts = authorization.dropFirst("Bearer ".count).split(separator: ".").map(String.init)
            try #require(parts.count == 3)
            let header = try JSONSerialization.jsonObject(with: Data(try #require(JWT.base64URLDecode(parts[0])))) as? [String: Any]
            #expect(header?["alg"] as? String == "RS256")
            #expect(header?["typ"] as? String == "JWT")
            let claims = try JSONSerialization.jsonObject(with: Data(try #require(JWT.base64URLDecode(parts[1])))) as? [String: Any]
            #expect(claims?["application_id"] as? String == "aaaaaaaa-bbbb-cccc-dddd-0123456789ab")
            #expect((claims?["iat"] as? NSNumber)?.intValue == 1_735_689_600)
            #expect((claims?["exp"] as? NSNumber)?.intValue == 1_735_689_900)
            #expect((claims?["jti"] as? String)?.isEmpty == false)
            let publicKey = try _RSA.Signing.PrivateKey(pemRepresentation: Self.privateKey).publicKey
            let signature = _RSA.Signing.RSASignature(rawRepresentation: try #require(JWT.base64URLDecode(parts[2])))
            #expect(publicKey.isValidSignature(signature, for: Array((parts[0] + "." + parts[1]).utf8), padding: .insecurePKCS1v1_5))

            #expect(adapter.interpret(response, channel: .voice) == .accepted(providerMessageID: "63f61863-4a51-4f6b-86e1-46edebcf9356"))
        }
    }

    @Test("RS256 tokens match PyJWT byte for byte for the same key and claims")
    func rs256Vector() throws {
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: Self.privateKey)
        #expect(try JWT.rs256(claims: ["application_id": "app-1"], privateKey: key) == "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhcHBsaWNhdGlvbl9pZCI6ImFwcC0xIn0.lGJOvJ66CN6bH8-sYnf9E2aHTy_5r92ANkTGnyPh0_yffFJ4ZnT6B7FvE36RFoGjwQNHGI4ZSN-xxZMiIcWeutvKTu3WGAp2yMCwipvPt_2kqgCtc3_BoaRlfh_tQT1t71loAVNP1Fuvgm4mGK82PJN0BSlqZ4mxMy_TQSMZo9Pcbdlva9wLYVW-EIsIDfNOrPHh_t2-O3kaFGEhk14w3fVzJIKM1bvinoU6Tg6kP51fMULsRdc5pH1z6aiHe_lSlIEs0rcNFzVPo5ih3d21lNqYo4FR--4zqkMOUaPJXgbhuyzIQVTZlqcD-MtWxHwZkaJLXjH0G7D4SpyQVTLIdA")
    }

    @Test("voice without an application is unsupported, and without from Vonage picks a number")
    func voiceConfiguration() throws {
        let smsOnly = try Self.adapter()
        expectUnsupportedChannel { () throws(ProviderFailure) in try smsOnly.voiceRequest(Fixtures.message(channel: .voice)) }
        let noFrom = try VonageAdapter(config: Fixtures.config(["api_key": "k", "api_secret": "s",
                                                                "application_id": "app", "private_key": Self.privateKey]))
        let body = try JSONSerialization.jsonObject(with: Data(try noFrom.voiceRequest(Fixtures.message(channel: .voice)).body)) as? [String: Any]
        #expect(body?["random_from_number"] as? Bool == true)
        #expect(body?["from"] == nil)
        // No language when the locale is missing.
        let ncco = body?["ncco"] as? [[String: Any]]
        #expect(ncco?.first?["language"] == nil)
    }

    @Test("voice errors keep Vonage's problem type")
    func voiceErrors() throws {
        let adapter = try Self.adapter(extra: Self.voiceExtra)
        let (failure, _) = try #require(failureOf(adapter.interpret(.json(402, #"{"type":"https://developer.nexmo.com/api-errors#low-balance","title":"Low balance","detail":"This request could not be performed due to your account balance being low."}"#), channel: .voice)))
        #expect(failure.category == .account)
        #expect(failure.code == "low-balance")
        let (bad, _) = try #require(failureOf(adapter.interpret(.json(400, #"{"type":"https://developer.nexmo.com/api-errors/voice#validation","title":"Bad Request","invalid_parameters":[{"name":"to","reason":"invalid"}]}"#), channel: .voice)))
        #expect(bad.category == .rejected)
        #expect(bad.code == "validation")
    }

    // MARK: Signatures

    /// The vectors of vonage-python-sdk's `tests/test_signature.py` (secret `secret`).
    @Test("vonage-python-sdk's signature vectors hold for every method")
    func publishedVectors() {
        let parameters = [("a", "1"), ("b", "2"), ("timestamp", "1461605396")]
        let expected: [(VonageSignature.Method, String)] = [
            (.md5hash, "6af838ef94998832dbfc29020b564830"),
            (.md5, "c15c21ced558c93a226c305f58f902f2"),
            (.sha1, "3e19a4e6880fdc2c1426bfd0587c98b9532f0210"),
            (.sha256, "a321e824b9b816be7c3f28859a31749a098713d39f613c80d455bbaffae1cd24"),
            (.sha512, "812a18f76680fa0fe1b8bd9ee1625466ceb1bd96242e4d050d2cfd9a7b40166c63ed26ec9702168781b6edcf1633db8ff95af9341701004eec3fcf9550572ee8"),
        ]
        for (method, signature) in expected {
            #expect(VonageSignature.signature(parameters: parameters, secret: "secret", method: method) == signature)
            // Vonage's HMAC signatures arrive upper-case (vonage-ruby-sdk `Signature#digest`).
            #expect(VonageSignature.isValid(parameters: parameters + [("sig", signature.uppercased())], secret: "secret", method: method))
            #expect(!VonageSignature.isValid(parameters: parameters + [("sig", signature)], secret: "secreT", method: method))
        }
        #expect(VonageSignature.signedString([("b", "x&y=z"), ("a", "1"), ("sig", "ignored")]) == "&a=1&b=x_y_z")
    }

    @Test("signed receipts verify as GET query, POST form and POST JSON, inside the replay window only")
    func signedWebhooks() throws {
        for method in VonageSignature.Method.allCases {
            let adapter = try Self.adapter(extra: ["signature_secret": "sig-secret", "signature_method": method.rawValue])
            let timestamp = String(Int(Self.now.timeIntervalSince1970) - 60)
            var pairs = [("msisdn", "447700900000"), ("to", "AcmeInc"), ("messageId", "0A0000001234567B"),
                         ("status", "delivered"), ("err-code", "0"), ("message-timestamp", "2020-01-01 12:00:00"),
                         ("timestamp", timestamp), ("nonce", "a&b=c")]
            pairs.append(("sig", VonageSignature.signature(parameters: pairs, secret: "sig-secret", method: method)))
            let get = WebhookRequest(method: "GET", url: Fixtures.callback.replacingOccurrences(of: "?t=tok", with: "?") + FormEncoding.encode(pairs), headers: [:], body: [])
            #expect(adapter.verifySignature(get, now: Self.now), "\(method) GET")
            // Herald's own query (`?t=tok`) is not part of what Vonage signed.
            let form = Fixtures.post(Fixtures.callback, form: pairs)
            #expect(adapter.verifySignature(form, now: Self.now), "\(method) form")
            let object = Dictionary(uniqueKeysWithValues: pairs)
            let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            #expect(adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, json), now: Self.now), "\(method) JSON")

            // Tampered values, a missing sig, and a stale or future timestamp fail.
            var tampered = pairs
            tampered[3].1 = "failed"
            #expect(!adapter.verifySignature(Fixtures.post("https://herald.example.com/x", form: tampered), now: Self.now))
            #expect(!adapter.verifySignature(Fixtures.post("https://herald.example.com/x", form: Array(pairs.dropLast())), now: Self.now))
            // The receipt was signed 60 s before `now`: 300 s either side of that is the window.
            #expect(adapter.verifySignature(form, now: Self.now.addingTimeInterval(240)))
            #expect(!adapter.verifySignature(form, now: Self.now.addingTimeInterval(241)))
            #expect(adapter.verifySignature(form, now: Self.now.addingTimeInterval(-360)))
            #expect(!adapter.verifySignature(form, now: Self.now.addingTimeInterval(-361)))
        }
    }

    @Test("a signed webhook JWT verifies against PyJWT's token and its payload hash")
    func webhookJWT() throws {
        let adapter = try Self.adapter(extra: ["signature_secret": "signature-secret-1"])
        // Made with PyJWT: HS256, iat 1735689600, payload_hash = SHA-256 of the body below.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MzU2ODk2MDAsImp0aSI6ImM1YmE4ZjI0LTFhMTQtNGMxMC1iZmRmLTNmYmU4Y2U1MTFiNSIsImlzcyI6IlZvbmFnZSIsInBheWxvYWRfaGFzaCI6IjVlN2YyN2FmYzAwZWQwMGU0MzM5YmU2MGYyZWRjODNiNDNjOGUyMDU3MDFlZGY3ODQyNDI4Mzc4NzM3ZWVhZWEiLCJhcGlfa2V5IjoiYWJjZDEyMzQiLCJhcHBsaWNhdGlvbl9pZCI6ImFhYWFhYWFhLWJiYmItY2NjYy1kZGRkLTAxMjM0NTY3ODlhYiJ9.vth_ResToYMUwSteWYiQH_yMshu_EN_FmVEJc_YI48M"
        let body = #"{"status":"completed","uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356"}"#
        let request = Fixtures.postJSON(Fixtures.callback, body, headers: ["Authorization": "Bearer " + token])
        #expect(adapter.verifySignature(request, now: Self.now.addingTimeInterval(30)))
        #expect(!adapter.verifySignature(request, now: Self.now.addingTimeInterval(301)))
        var tampered = request
        tampered.body = Array(body.replacingOccurrences(of: "completed", with: "failed").utf8)
        #expect(!adapter.verifySignature(tampered, now: Self.now))
        let other = try Self.adapter(extra: ["signature_secret": "another-secret"])
        #expect(!other.verifySignature(request, now: Self.now))
        // Our own HS256 tokens round-trip; `alg: none` and broken tokens do not.
        let own = JWT.hs256(claims: ["iat": 1_735_689_600, "payload_hash": Self.sha256Hex(body)], secret: "signature-secret-1")
        #expect(adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, body, headers: ["Authorization": "Bearer " + own]), now: Self.now))
        let none = JWT.base64URL(Array(#"{"alg":"none"}"#.utf8)) + "." + JWT.base64URL(Array(#"{"iat":1735689600}"#.utf8)) + "."
        #expect(!adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, body, headers: ["Authorization": "Bearer " + none]), now: Self.now))
        #expect(!adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, body, headers: ["Authorization": "Bearer x.y"]), now: Self.now))
        let unbounded = JWT.hs256(claims: ["sub": "x"], secret: "signature-secret-1")
        #expect(!adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, body, headers: ["Authorization": "Bearer " + unbounded]), now: Self.now))
    }

    @Test("a webhook JWT without payload_hash is refused: it would vouch for any body")
    func webhookJWTNeedsPayloadHash() throws {
        let adapter = try Self.adapter(extra: ["signature_secret": "signature-secret-1"])
        let body = #"{"status":"completed","uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356"}"#
        let unhashed = JWT.hs256(claims: ["iat": 1_735_689_600, "jti": "j1"], secret: "signature-secret-1")
        #expect(!adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, body, headers: ["Authorization": "Bearer " + unhashed]), now: Self.now))
        let other = #"{"status":"failed","uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356"}"#
        #expect(!adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, other, headers: ["Authorization": "Bearer " + unhashed]), now: Self.now))
        let notText = JWT.hs256(claims: ["iat": 1_735_689_600, "payload_hash": 5], secret: "signature-secret-1")
        #expect(!adapter.verifySignature(Fixtures.postJSON(Fixtures.callback, body, headers: ["Authorization": "Bearer " + notText]), now: Self.now))
    }

    // MARK: Only what is signed is read

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `pairs` with a fresh `timestamp` and their `sig` (md5hash, secret `sig-secret`).
    static func signed(_ pairs: [(String, String)]) -> [(String, String)] {
        let all = pairs + [("timestamp", String(Int(now.timeIntervalSince1970) - 10))]
        return all + [("sig", VonageSignature.signature(parameters: all, secret: "sig-secret"))]
    }

    static let inboundURL = "https://herald.example.com/webhooks/prv_1/inbound"

    @Test("a signed inbound SMS is read from its signed body: msisdn and text added to the query are ignored")
    func signedInboundIgnoresQuery() throws {
        let adapter = try Self.adapter(extra: ["signature_secret": "sig-secret"])
        let pairs = Self.signed([("msisdn", "447700900001"), ("to", "447700900000"), ("messageId", "0A0000000123ABCD1"),
                                 ("text", "Hello"), ("type", "text")])
        let expected = InboundMessage(providerMessageID: "0A0000000123ABCD1", from: "+447700900001", to: "+447700900000", text: "Hello")
        // A captured, validly signed webhook replayed with another sender, text and id in its URL.
        let query = "?" + FormEncoding.encode([("msisdn", "447700900666"), ("text", "STOP"), ("to", "447700900999"),
                                                ("messageId", "0AFORGED")])
        let form = Fixtures.post(Self.inboundURL + query, form: pairs)
        #expect(adapter.verifySignature(form, now: Self.now))
        #expect(try adapter.inbound(form) == expected)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: pairs)), as: UTF8.self)
        let posted = Fixtures.postJSON(Self.inboundURL + query, json)
        #expect(adapter.verifySignature(posted, now: Self.now))
        #expect(try adapter.inbound(posted) == expected)

        // A field the signed set lacks cannot be supplied through the query either.
        let textless = Self.signed([("msisdn", "447700900001"), ("to", "447700900000"), ("messageId", "0A2")])
        let added = Fixtures.post(Self.inboundURL + "?text=STOP", form: textless)
        #expect(adapter.verifySignature(added, now: Self.now))
        #expect(try adapter.inbound(added).text == "")
        // Nor can a required one: the sender only in the query is no sender.
        let senderless = Fixtures.post(Self.inboundURL + "?msisdn=447700900666", form: Self.signed([("to", "447700900000"), ("text", "STOP")]))
        #expect(adapter.verifySignature(senderless, now: Self.now))
        #expect(throws: WebhookError.self) { try adapter.inbound(senderless) }

        // A GET is signed over its whole query, so an added or changed field breaks the signature.
        let get = WebhookRequest(method: "GET", url: Self.inboundURL + "?" + FormEncoding.encode(pairs), headers: [:], body: [])
        #expect(adapter.verifySignature(get, now: Self.now))
        #expect(try adapter.inbound(get) == expected)
        let prefixed = WebhookRequest(method: "GET", url: Self.inboundURL + "?msisdn=447700900666&" + FormEncoding.encode(pairs), headers: [:], body: [])
        #expect(!adapter.verifySignature(prefixed, now: Self.now))
    }

    @Test("a signed receipt is read from its signed body: messageId and status in the query are ignored")
    func signedReceiptIgnoresQuery() throws {
        let adapter = try Self.adapter(extra: ["signature_secret": "sig-secret"])
        let pairs = Self.signed([("msisdn", "447700900000"), ("to", "AcmeInc"), ("messageId", "0A0000001234567B"),
                                 ("status", "failed"), ("err-code", "6")])
        let expected = [DeliveryReceipt(providerMessageID: "0A0000001234567B", status: .undelivered, providerStatus: "failed", errorCode: "6")]
        // Herald's own query (`?t=tok`) plus a forged id and status.
        let url = Fixtures.callback + "&" + FormEncoding.encode([("messageId", "0AVICTIM"), ("status", "delivered"), ("err-code", "0")])
        let form = Fixtures.post(url, form: pairs)
        #expect(adapter.verifySignature(form, now: Self.now))
        #expect(try adapter.receipts(form) == expected)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: pairs)), as: UTF8.self)
        let posted = Fixtures.postJSON(url, json)
        #expect(adapter.verifySignature(posted, now: Self.now))
        #expect(try adapter.receipts(posted) == expected)
        // A signed call event in the body cannot be turned into an SMS receipt from the query.
        let event = Fixtures.post(url, form: Self.signed([("uuid", "u1"), ("status", "ringing")]))
        #expect(adapter.verifySignature(event, now: Self.now))
        #expect(try adapter.receipts(event) == [DeliveryReceipt(providerMessageID: "u1", status: .pending, providerStatus: "ringing")])
    }

    @Test("a JWT-signed event is read from the body its payload_hash binds, never from the query")
    func jwtEventIgnoresQuery() throws {
        let adapter = try Self.adapter(extra: ["signature_secret": "signature-secret-1"])
        let body = #"{"status":"failed","uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356","timestamp":"2020-01-01T12:00:00.000Z"}"#
        let token = JWT.hs256(claims: ["iat": 1_735_689_600, "jti": "j1", "payload_hash": Self.sha256Hex(body)], secret: "signature-secret-1")
        let url = Fixtures.callback + "&" + FormEncoding.encode([("uuid", "other-call"), ("status", "completed"),
                                                                 ("messageId", "0AVICTIM")])
        let request = Fixtures.postJSON(url, body, headers: ["Authorization": "Bearer " + token])
        #expect(adapter.verifySignature(request, now: Self.now))
        #expect(try adapter.receipts(request) == [DeliveryReceipt(providerMessageID: "63f61863-4a51-4f6b-86e1-46edebcf9356", status: .failed,
                                                                 providerStatus: "failed", occurredAt: Date(timeIntervalSince1970: 1_577_880_000))])
        // An inbound shape only in the query is not there at all.
        let inbound = Fixtures.postJSON(Self.inboundURL + "?msisdn=447700900666&to=447700900000&text=STOP", body,
                                        headers: ["Authorization": "Bearer " + token])
        #expect(throws: WebhookError.self) { try adapter.inbound(inbound) }
    }

    @Test("without a signature secret the URL token vouches for the whole request, query included")
    func unsignedReadsQuery() throws {
        let adapter = try Self.adapter()
        let request = Fixtures.post(Fixtures.callback + "&messageId=0A1", form: [("status", "delivered")])
        #expect(try adapter.receipts(request).first?.providerMessageID == "0A1")
    }

    // MARK: Webhooks

    @Test("the documented delivery receipt parses from GET, form and JSON alike")
    func deliveryReceipts() throws {
        let adapter = try Self.adapter()
        let pairs = [("msisdn", "447700900000"), ("to", "AcmeInc"), ("network-code", "12345"), ("messageId", "0A0000001234567B"),
                     ("price", "0.03330000"), ("status", "delivered"), ("scts", "2001011400"), ("err-code", "0"),
                     ("api-key", "abcd1234"), ("message-timestamp", "2020-01-01 12:00:00")]
        let expected = DeliveryReceipt(providerMessageID: "0A0000001234567B", status: .delivered, providerStatus: "delivered",
                                       occurredAt: Date(timeIntervalSince1970: 1_577_880_000))
        let get = WebhookRequest(method: "GET", url: "https://herald.example.com/webhooks/prv_1/status?" + FormEncoding.encode(pairs), headers: [:], body: [])
        #expect(try adapter.receipts(get) == [expected])
        #expect(try adapter.receipts(Fixtures.post("https://herald.example.com/webhooks/prv_1/status", form: pairs)) == [expected])
        let json = #"{"msisdn":"447700900000","to":"AcmeInc","network-code":"12345","messageId":"0A0000001234567B","price":"0.03330000","status":"delivered","scts":"2001011400","err-code":"0","api-key":"abcd1234","message-timestamp":"2020-01-01 12:00:00"}"#
        #expect(try adapter.receipts(Fixtures.postJSON("https://herald.example.com/webhooks/prv_1/status", json)) == [expected])

        let words: [String: ReceiptStatus] = ["delivered": .delivered, "expired": .undelivered, "failed": .undelivered,
                                              "rejected": .failed, "accepted": .sent, "buffered": .pending, "unknown": .pending]
        for (word, status) in words {
            let receipt = try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("messageId", "0A1"), ("status", word), ("err-code", "6")]))
            #expect(receipt.first?.status == status, "\(word)")
            #expect(receipt.first?.errorCode == "6")
        }
    }

    @Test("voice call events become receipts keyed by the call uuid")
    func callEvents() throws {
        let adapter = try Self.adapter()
        let body = #"{"start_time":"2020-01-01T12:00:00.000Z","rate":"0.00450000","from":"447700900000","to":"447700900001","uuid":"63f61863-4a51-4f6b-86e1-46edebcf9356","conversation_uuid":"CON-f972836a-550f-45fa-956c-12a2ab5b7d22","status":"completed","direction":"outbound","network":"23410","timestamp":"2020-01-01T12:00:00.000Z"}"#
        let receipts = try adapter.receipts(Fixtures.postJSON(Fixtures.callback, body))
        #expect(receipts == [DeliveryReceipt(providerMessageID: "63f61863-4a51-4f6b-86e1-46edebcf9356", status: .delivered,
                                             providerStatus: "completed", occurredAt: Date(timeIntervalSince1970: 1_577_880_000))])
        for (word, status) in [("busy", ReceiptStatus.undelivered), ("unanswered", .undelivered), ("failed", .failed), ("ringing", .pending)] {
            let receipt = try adapter.receipts(Fixtures.postJSON(Fixtures.callback, #"{"uuid":"u1","status":"\#(word)"}"#))
            #expect(receipt.first?.status == status)
        }
    }

    @Test("malformed receipts throw")
    func malformedReceipts() throws {
        let adapter = try Self.adapter()
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.postJSON(Fixtures.callback, #"{"messageId": "#)) }
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.postJSON(Fixtures.callback, #"{"foo":"bar"}"#)) }
        #expect(throws: WebhookError.self) { try adapter.receipts(Fixtures.post(Fixtures.callback, form: [("messageId", ""), ("status", "delivered")])) }
    }

    @Test("an inbound SMS gets its plus back, from any of the three encodings")
    func inboundMessage() throws {
        let adapter = try Self.adapter()
        let pairs = [("msisdn", "447700900001"), ("to", "447700900000"), ("messageId", "0A0000000123ABCD1"), ("text", "Hello world"),
                     ("type", "text"), ("keyword", "HELLO"), ("message-timestamp", "2020-01-01 12:00:00")]
        let expected = InboundMessage(providerMessageID: "0A0000000123ABCD1", from: "+447700900001", to: "+447700900000", text: "Hello world")
        let get = WebhookRequest(method: "GET", url: "https://herald.example.com/webhooks/prv_1/inbound?" + FormEncoding.encode(pairs), headers: [:], body: [])
        #expect(try adapter.inbound(get) == expected)
        #expect(try adapter.inbound(Fixtures.post("https://herald.example.com/webhooks/prv_1/inbound", form: pairs)) == expected)
        let json = String(decoding: try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: pairs)), as: UTF8.self)
        #expect(try adapter.inbound(Fixtures.postJSON("https://herald.example.com/webhooks/prv_1/inbound", json)) == expected)
        #expect(throws: WebhookError.self) { try adapter.inbound(Fixtures.post(Fixtures.callback, form: [("text", "hi")])) }
    }

    @Test("webhooks are acknowledged with an empty 200")
    func acknowledgement() throws {
        #expect(try Self.adapter().acknowledgement() == .empty)
    }
}
