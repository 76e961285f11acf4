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
