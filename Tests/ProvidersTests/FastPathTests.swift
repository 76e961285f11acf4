import Foundation
@testable import Providers
import Testing

@Suite struct FastPathTests {
    @Test("the top-level string scanner agrees with JSONSerialization or declines")
    func topLevelString() throws {
        let cases: [(String, String?)] = [
            (#"{"sid":"SM1"}"#, "SM1"),
            (#" { "account_sid" : "AC1", "sid" : "SM2" } "#, "SM2"),
            (#"{"subresource_uris":{"sid":"nested"},"sid":"SM3"}"#, "SM3"),
            (#"{"subresource_uris":{"sid":"nested"}}"#, nil),
            (#"{"list":["sid","x"],"sid":"SM4"}"#, "SM4"),
            (#"{"body":"say \"sid\": \"no\"","sid":"SM5"}"#, "SM5"),
            (#"{"sid":"S\"M6"}"#, nil),
            (#"{"sid":5}"#, nil),
            (#"["sid","SM7"]"#, nil),
            (#"{"sid":"SM8""#, "SM8"),
            (#"{"sid":"#, nil),
            ("", nil),
            (#"{"s\"id":"x","sid":"SM9"}"#, "SM9"),
        ]
        for (json, expected) in cases {
            #expect(AdapterSupport.topLevelString("sid", in: Array(json.utf8)) == expected, "\(json)")
        }
    }

    @Test("percent encoding matches Foundation's for every byte")
    func percentEncoding() {
        for scalar in (0..<0x300).compactMap(Unicode.Scalar.init) {
            let text = "a" + String(scalar) + "z"
            var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
            allowed.insert(charactersIn: "")
            let foundation = text.addingPercentEncoding(withAllowedCharacters: allowed)!
            #expect(FormEncoding.percentEncode(text, spaceAsPlus: false) == foundation, "\(scalar.value)")
        }
        #expect(FormEncoding.percentEncode("a b+c") == "a+b%2Bc")
        #expect(FormEncoding.percentEncode("😀") == "%F0%9F%98%80")
    }
}
