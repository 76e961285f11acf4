import CPhoneNumber
import Phone
import Testing

/// Deterministic pseudo-random numbers (SplitMix64), so failures reproduce.
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

@Suite("Hostile input")
struct HostileInputTests {
    /// Scalars a phone number could plausibly contain, and some it must not.
    static let alphabet: [Unicode.Scalar] = Array("0123456789+ -().#;,x~*/[]abcXYZ＋０９٣\u{0}\u{7}\n\t\u{00A0}\u{200B}\u{301}\u{FEFF}\u{202E}\u{10FFFF}\u{FFFD}😀".unicodeScalars)

    @Test("random strings never crash, and whatever parses is valid and stable")
    func randomStrings() throws {
        var rng = SplitMix64(state: 0x4845_5241_4C44)
        let regions: [String?] = [nil, "US", "DE", "GB", "IN", "xx"]
        for _ in 0..<3_000 {
            let length = Int.random(in: 0...24, using: &rng)
            var scalars = String.UnicodeScalarView()
            for _ in 0..<length { scalars.append(Self.alphabet.randomElement(using: &rng)!) }
            let input = String(scalars)
            let region = regions.randomElement(using: &rng)!
            do {
                let number = try PhoneNumberParser.parse(input, defaultRegion: region)
                #expect(number.type != .unknown)
                #expect(try PhoneNumberParser.parse(number.e164) == number)
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
    }

    @Test("random digit strings with a plus never crash")
    func randomDigits() {
        var rng = SplitMix64(state: 42)
        var valid = 0
        for _ in 0..<3_000 {
            let digits = (0..<Int.random(in: 1...20, using: &rng)).map { _ in String(Int.random(in: 0...9, using: &rng)) }
            if (try? PhoneNumberParser.parse("+" + digits.joined())) != nil { valid += 1 }
        }
        #expect(valid > 0)
    }

    @Test("any Unicode scalar, alone or around a valid number, is handled")
    func everyScalarPlane() {
        var rng = SplitMix64(state: 7)
        for _ in 0..<2_000 {
            guard let scalar = Unicode.Scalar(UInt32.random(in: 0...0x10FFFF, using: &rng)) else { continue }
            _ = try? PhoneNumberParser.parse(String(Character(scalar)))
            _ = try? PhoneNumberParser.parse("+49 1511 \(scalar)2345678", defaultRegion: "DE")
        }
    }

    /// Calls `herald_phone_parse` on raw bytes, which a Swift `String` (always
    /// valid UTF-8, see above) could never carry.
    static func cParse(_ bytes: [UInt8], region: String? = nil) -> (herald_phone_status, String) {
        var info = herald_phone_info()
        let status = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                if let region {
                    region.withCString { herald_phone_parse(chars.baseAddress, chars.count, $0, &info) }
                } else {
                    herald_phone_parse(chars.baseAddress, chars.count, nil, &info)
                }
            }
        }
        let e164 = withUnsafeBytes(of: info.e164) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return (status, e164)
    }

    @Test("the C layer rejects invalid UTF-8, NUL and oversized input without parsing")
    func cLayerArguments() {
        let valid = Array("+4915112345678".utf8)
        let rejected = herald_phone_status.HERALD_PHONE_STATUS_INVALID_ARGUMENT
        #expect(Self.cParse(valid) == (herald_phone_status.HERALD_PHONE_STATUS_OK, "+4915112345678"))
        #expect(Self.cParse(valid, region: "XX") == (herald_phone_status.HERALD_PHONE_STATUS_OK, "+4915112345678"))
        #expect(Self.cParse([]).0 == herald_phone_status.HERALD_PHONE_STATUS_NOT_A_NUMBER)
        #expect(Self.cParse(valid + [0]) == (rejected, ""))
        #expect(Self.cParse([0] + valid) == (rejected, ""))
        #expect(Self.cParse(valid + [0xFF]) == (rejected, ""))
        #expect(Self.cParse(valid + [0xC0, 0xAF]) == (rejected, ""))  // overlong '/'
        #expect(Self.cParse(valid + [0xED, 0xA0, 0x80]) == (rejected, ""))  // surrogate
        #expect(Self.cParse(valid + [0xF4, 0x90, 0x80, 0x80]) == (rejected, ""))  // above U+10FFFF
        #expect(Self.cParse(valid + [0xE2, 0x82]) == (rejected, ""))  // truncated
        #expect(Self.cParse(Array(repeating: UInt8(ascii: "1"), count: 257)) == (rejected, ""))
        #expect(Self.cParse(valid, region: "de") == (rejected, ""))
        #expect(Self.cParse(valid, region: "DEUT") == (rejected, ""))
        #expect(herald_phone_parse(nil, 5, nil, nil) == rejected)
        #expect(herald_phone_parse(nil, 0, nil, nil) == rejected)
    }

    @Test("random bytes straight into the C layer never crash")
    func randomBytes() {
        var rng = SplitMix64(state: 0xC0FFEE)
        for _ in 0..<5_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &rng)).map { _ in
                // Mostly digits and '+', so some inputs get deep into the parser.
                Bool.random(using: &rng) ? UInt8.random(in: 0x2B...0x39, using: &rng) : UInt8.random(in: 0...255, using: &rng)
            }
            _ = Self.cParse(bytes, region: "US")
        }
    }

    @Test("the C helpers survive bad arguments")
    func cHelpers() {
        var buffer = [CChar](repeating: 0, count: 8)
        #expect(herald_phone_format("not a number", herald_phone_format_style.HERALD_PHONE_FORMAT_STYLE_INTERNATIONAL, &buffer, buffer.count) == 0)
        #expect(herald_phone_format("", herald_phone_format_style.HERALD_PHONE_FORMAT_STYLE_NATIONAL, &buffer, buffer.count) == 0)
        #expect(herald_phone_format(nil, herald_phone_format_style.HERALD_PHONE_FORMAT_STYLE_E164, &buffer, buffer.count) == 0)
        #expect(herald_phone_format(String(repeating: "9", count: 5_000), herald_phone_format_style.HERALD_PHONE_FORMAT_STYLE_RFC3966, &buffer, buffer.count) == 0)
        // Too small a buffer: truncated, NUL-terminated, and the needed length returned.
        #expect(herald_phone_format("+4915112345678", herald_phone_format_style.HERALD_PHONE_FORMAT_STYLE_RFC3966, &buffer, buffer.count) == 20)
        #expect(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) == "tel:+49")
        #expect(herald_phone_format("+4915112345678", herald_phone_format_style.HERALD_PHONE_FORMAT_STYLE_E164, nil, 0) == 14)
        #expect(herald_phone_country_code_for_region(nil) == 0)
        #expect(herald_phone_country_code_for_region("de") == 0)
        #expect(herald_phone_region_codes_for_country_code(1, nil, 0) > 20)
        #expect(herald_phone_supported_regions(nil, 0) > 240)
        #expect(!herald_phone_example_number("DE", herald_phone_type.HERALD_PHONE_TYPE_MOBILE, nil))
        var info = herald_phone_info()
        #expect(!herald_phone_example_number(nil, herald_phone_type.HERALD_PHONE_TYPE_MOBILE, &info))
        #expect(!herald_phone_example_number("DE", herald_phone_type.HERALD_PHONE_TYPE_UNKNOWN, &info))
        #expect(herald_phone_example_number("DE", herald_phone_type.HERALD_PHONE_TYPE_MOBILE, &info))
        #expect(info.is_valid && info.type == herald_phone_type.HERALD_PHONE_TYPE_MOBILE && info.country_code == 49)
    }
}
