import SMS
import Testing

@Suite("Message text as 3GPP TS 23.038 counts it")
struct MessageTextTests {
    @Test("the default alphabet has 127 characters besides the escape, each one septet")
    func alphabet() {
        let all = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
        #expect(all.unicodeScalars.count == 127)
        let text = MessageText(all)
        #expect(text.encoding == .gsm7)
        #expect(text.units == 127)
    }

    @Test("extension characters cost two septets", arguments: ["^", "{", "}", "\\", "[", "~", "]", "|", "€", "\u{0C}"])
    func extended(character: String) {
        let text = MessageText(character)
        #expect(text.encoding == .gsm7)
        #expect(text.units == 2)
    }

    @Test("anything else is UCS-2", arguments: ["ç", "€ and ç", "Привет", "你好", "😀", "e\u{301}", "\u{1B}", "`"])
    func ucs2(text: String) {
        #expect(MessageText(text).encoding == .ucs2)
    }

    @Test("GSM-7 boundaries: 160 in one part, then 153 per part", arguments: [
        (0, 0), (1, 1), (159, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4),
    ])
    func gsmBoundaries(length: Int, segments: Int) {
        let text = MessageText(String(repeating: "a", count: length))
        #expect(text.segments == segments)
        #expect(text.parts.joined() == text.text)
        #expect(text.parts.dropLast().allSatisfy { $0.count == 153 } || segments == 1)
    }

    @Test("an escape pair is never split across parts")
    func escapeAtTheEdge() {
        // 152 septets then '€' (2): 154 > 153, so '€' opens the second part.
        for prefix in [151, 152, 153] {
            let body = String(repeating: "a", count: prefix) + "€" + String(repeating: "b", count: 10)
            let text = MessageText(body)
            #expect(text.units == prefix + 2 + 10)
            #expect(text.segments == 2)
            let first = text.parts[0]
            let firstSeptets = first.unicodeScalars.reduce(0) { $0 + (GSM7.septets($1) ?? 0) }
            #expect(firstSeptets <= 153)
            #expect(first.hasSuffix("€") == (prefix <= 151), "prefix \(prefix)")
        }
        // Exactly 160 septets with escapes still fits one part; one more septet does not.
        #expect(MessageText(String(repeating: "€", count: 80)).segments == 1)
        #expect(MessageText(String(repeating: "€", count: 80) + "a").segments == 2)
    }

    @Test("UCS-2 boundaries: 70 units in one part, then 67 per part", arguments: [
        (69, 1), (70, 1), (71, 2), (134, 2), (135, 3),
    ])
    func ucs2Boundaries(length: Int, segments: Int) {
        let text = MessageText(String(repeating: "ж", count: length))
        #expect(text.encoding == .ucs2)
        #expect(text.units == length)
        #expect(text.segments == segments)
    }

    @Test("a surrogate pair is never split; emoji, flags and ZWJ sequences count their UTF-16 units")
    func surrogates() {
        let emoji = MessageText(String(repeating: "😀", count: 35))  // 70 units
        #expect(emoji.units == 70 && emoji.segments == 1)
        let over = MessageText(String(repeating: "😀", count: 35) + "a")
        #expect(over.units == 71 && over.segments == 2)
        // 66 units then an emoji (2): 68 > 67, the pair moves whole to the next part.
        let edge = MessageText(String(repeating: "ж", count: 66) + "😀" + String(repeating: "ж", count: 10))
        #expect(edge.parts[0].utf16.count == 66)
        #expect(edge.parts.allSatisfy { String(decoding: Array($0.utf16), as: UTF16.self) == $0 })
        #expect(MessageText("🇩🇪").units == 4)
        #expect(MessageText("👩‍👩‍👧").units == 8)
        #expect(MessageText("👩‍👩‍👧").characters == 1)
    }

    @Test("non-GSM characters are listed once, in order")
    func nonGSM() {
        #expect(MessageText("Grüße → ça va ça").nonGSMCharacters == ["→", "ç"])
        #expect(MessageText("plain").nonGSMCharacters.isEmpty)
    }
}

@Suite("Smart characters")
struct SmartCharacterTests {
    @Test("typographic look-alikes become GSM-7 and are reported")
    func replaces() {
        let (text, replacements) = SmartCharacters.replace("“Hi” it’s 5–6 pm… ＯＫ\u{00A0}now\u{200B}!")
        #expect(text == "\"Hi\" it's 5-6 pm... OK now!")
        #expect(MessageText(text).encoding == .gsm7)
        #expect(replacements.map(\.original) == ["“", "”", "’", "–", "…", "Ｏ", "Ｋ", "\u{00A0}", "\u{200B}"])
    }

    @Test("characters without a GSM-7 form stay, so the message stays honest")
    func keeps() {
        let (text, replacements) = SmartCharacters.replace("Привет 😀")
        #expect(text == "Привет 😀")
        #expect(replacements.isEmpty)
    }
}
