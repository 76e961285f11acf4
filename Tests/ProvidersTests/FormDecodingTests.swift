import Foundation
import Testing
@testable import Providers

/// The byte-level form decoder against Foundation's percent decoding, which it replaced on
/// the receipt path.
@Suite("Form decoding")
struct FormDecodingTests {
    /// Foundation's answer: `+` is a space, then `removingPercentEncoding`.
    static func reference(_ text: String) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    @Test("agrees with Foundation on every short string over a hostile alphabet")
    func exhaustiveAgainstFoundation() {
        // Every string of up to 4 symbols from an alphabet of escapes, hex digits, and
        // characters that must pass through (including multi-byte UTF-8).
        let alphabet = ["%", "+", "2", "0", "C", "3", "a", "9", "F", "g", "é", "=", "%E2%82%AC", "%FF", "%c3"]
        var strings = [""]
        for _ in 0..<4 {
            strings = strings + strings.flatMap { prefix in alphabet.map { prefix + $0 } }
            strings = Array(Set(strings))
        }
        #expect(strings.count > 20_000)
        for text in strings {
            let ours = try? FormEncoding.unescape(text)
            let foundation = Self.reference(text)
            if let foundation, foundation.contains("\u{FFFD}") {
                // Foundation repairs some bytes that are not UTF-8 (a lone 0xA9) into U+FFFD
                // and refuses others (0xFF); the decoder refuses them all.
                #expect(ours == nil, "\(text)")
            } else {
                #expect(ours == foundation, "\(text)")
            }
        }
    }

    @Test("splits pairs exactly as splitting the text on `&` then the first `=` does, on every short string")
    func splittingAgainstReference() throws {
        func reference(_ text: String) throws -> [(String, String)] {
            try text.split(separator: "&", omittingEmptySubsequences: true).map { piece in
                let parts = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (try FormEncoding.unescape(String(parts[0])), parts.count > 1 ? try FormEncoding.unescape(String(parts[1])) : "")
            }
        }
        let alphabet = ["&", "=", "a", "+", "%41", "é", "%E2%82%AC", "%"]
        var strings = [""]
        for _ in 0..<5 {
            strings = Array(Set(strings + strings.flatMap { prefix in alphabet.map { prefix + $0 } }))
        }
        #expect(strings.count > 30_000)
        for text in strings {
            let ours = try? FormEncoding.decode(text)
            let expected = try? reference(text)
            #expect(ours?.map(\.0) == expected?.map(\.0), "\(text)")
            #expect(ours?.map(\.1) == expected?.map(\.1), "\(text)")
        }
        // Bytes that are not UTF-8 anywhere in the body are refused as such.
        #expect(throws: WebhookError("the form body is not UTF-8")) { try FormEncoding.decode([0x61, 0x3D, 0xFF]) }
    }

    @Test("a webhook URL's query is split as URLComponents splits it, without parsing the URL")
    func queryOfAURL() throws {
        let urls = [
            "https://herald.example/webhooks/p/status", "https://herald.example/webhooks/p/status?",
            "https://herald.example/webhooks/p/status?m=5f0e&token=a%2Bb", "http://127.0.0.1:8080/w?m=1#frag",
            "http://127.0.0.1:8080/w?a=1&a=2&b=&c", "https://h.example/w?x=%E2%82%AC+y&q=%3F%23", "https://h.example/w#only?not=query",
            "https://h.example/w?bodySHA256=abc&m=1", "https://h.example/w??double=1",
        ]
        for url in urls {
            let components = try #require(URLComponents(string: url))
            let expected = try FormEncoding.decode(components.percentEncodedQuery ?? "")
            let ours = try AdapterSupport.queryParameters(of: url)
            #expect(ours.map(\.0) == expected.map(\.0), "\(url)")
            #expect(ours.map(\.1) == expected.map(\.1), "\(url)")
        }
    }

    @Test("round-trips what the encoder writes, in every script")
    func roundTrip() throws {
        let values = ["", "plain", "a b+c&d=e", "100% sure", "Код 1234", "验证码 ١٢٣٤", "emoji 👍🏽 ok", "tab\tnew\nline", "%2B"]
        for value in values {
            let decoded = try FormEncoding.decode(FormEncoding.encode([("Body", value), ("To", "+14155550100")]))
            #expect(decoded.map(\.0) == ["Body", "To"])
            #expect(decoded.map(\.1) == [value, "+14155550100"])
        }
    }

    @Test("malformed escapes and bytes that are not UTF-8 are refused")
    func malformed() {
        for text in ["%", "%4", "%zz", "a%g1", "%FF", "%C3", "%E2%82", "%a9", "x%A9y"] {
            #expect(throws: WebhookError.self) { try FormEncoding.unescape(text) }
        }
    }
}
