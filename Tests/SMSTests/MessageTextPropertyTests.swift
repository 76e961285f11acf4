import SMS
import Testing

/// A small deterministic generator, so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Message text properties over random bodies")
struct MessageTextPropertyTests {
    /// Plain GSM characters, extension characters, BMP non-GSM and astral (surrogate-pair) ones.
    static let pools: [[Character]] = [
        Array("abcXYZ019 @£$¥èÇ\nΔ_ΦÆß!?¡¿§"), Array("^{}\\[~]|€"), Array("çжй→你"), Array("😀🇩🇪👍🏽"),
    ]

    static func randomBody(_ generator: inout SplitMix64, gsmOnly: Bool) -> String {
        let length = Int.random(in: 0...520, using: &generator)
        var body = ""
        for _ in 0..<length {
            let pool = gsmOnly ? Self.pools[Int.random(in: 0...1, using: &generator)] : Self.pools.randomElement(using: &generator)!
            body.append(pool.randomElement(using: &generator)!)
        }
        return body
    }

    @Test("parts rejoin to the body, respect the limits, and are as few as the rules allow", arguments: [false, true])
    func properties(gsmOnly: Bool) {
        var generator = SplitMix64(state: gsmOnly ? 7 : 11)
        for _ in 0..<3_000 {
            let body = Self.randomBody(&generator, gsmOnly: gsmOnly)
            let text = MessageText(body)
            #expect(text.parts.joined() == body)
            let cost: (String) -> Int = { part in
                text.encoding == .gsm7
                    ? part.unicodeScalars.reduce(0) { $0 + GSM7.septets($1)! }
                    : part.utf16.count
            }
            #expect(text.units == cost(body))
            let single = text.encoding == .gsm7 ? MessageText.gsm7Single : MessageText.ucs2Single
            let part = text.encoding == .gsm7 ? MessageText.gsm7Part : MessageText.ucs2Part
            if text.units <= single {
                #expect(text.segments == (body.isEmpty ? 0 : 1))
            } else {
                #expect(text.parts.allSatisfy { cost($0) <= part })
                // Greedy packing: no part could have taken the next part's first scalar.
                for (current, next) in zip(text.parts, text.parts.dropFirst()) {
                    let first = String(Character(next.unicodeScalars.first!))
                    #expect(cost(current) + cost(first) > part)
                }
                // Every part is valid UTF-16 on its own (no lone surrogate).
                #expect(text.parts.allSatisfy { String(decoding: Array($0.utf16), as: UTF16.self) == $0 })
            }
            if gsmOnly { #expect(text.encoding == .gsm7) }
        }
    }
}
