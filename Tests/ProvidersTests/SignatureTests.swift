import Providers
import Testing

@Suite struct TwilioSignatureTests {
    /// The example in Twilio's "Webhooks security" documentation.
    @Test func documentedExample() {
        let parameters = [
            ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
            ("From", "+12349013030"), ("To", "+18005551212"),
        ]
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
        #expect(TwilioSignature.signature(url: url, parameters: parameters, authToken: "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        #expect(TwilioSignature.isValid("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: url, parameters: parameters, authToken: "12345"))
        #expect(!TwilioSignature.isValid("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: url + "&x=1", parameters: parameters, authToken: "12345"))
        #expect(!TwilioSignature.isValid("0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: url, parameters: parameters, authToken: "12346"))
    }
}

@Suite struct LoopbackProviderTests {
    @Test func capturesTheExactRequest() async throws {
        try await LoopbackProvider.run(reply: { _ in .json(201, #"{"ok":true}"#) }) { provider in
            let wire = WireRequest(method: "POST", url: provider.baseURL + "/a/b?x=1",
                                   headers: [WireHeader("Content-Type", "application/x-www-form-urlencoded"), WireHeader("Authorization", "Basic eDp5")],
                                   body: Array(FormEncoding.encode([("To", "+1 555"), ("Body", "a&b=c ü")]).utf8))
            let response = try await provider.send(wire)
            #expect(response.status == 201)
            #expect(response.headers["content-type"] == "application/json")
            let seen = try #require(provider.requests.first)
            #expect(seen.method == "POST")
            #expect(seen.path == "/a/b")
            #expect(seen.query == "x=1")
            #expect(seen.header("authorization") == "Basic eDp5")
            #expect(seen.bodyText == "To=%2B1+555&Body=a%26b%3Dc+%C3%BC")
            let form = try seen.form()
            #expect(form.map(\.0) == ["To", "Body"])
            #expect(form.map(\.1) == ["+1 555", "a&b=c ü"])
        }
    }
}
