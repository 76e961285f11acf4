import Phone
import Testing

/// One input and everything the parser should make of it.
struct ParseCase: Sendable, CustomTestStringConvertible {
    let input: String
    let defaultRegion: String?
    let e164: String
    let countryCode: Int
    let regionCode: String?
    let type: PhoneNumberType
    let nationalNumber: String

    init(
        _ input: String, region defaultRegion: String? = nil,
        _ e164: String, _ countryCode: Int, _ regionCode: String?, _ type: PhoneNumberType, nsn nationalNumber: String
    ) {
        self.input = input
        self.defaultRegion = defaultRegion
        self.e164 = e164
        self.countryCode = countryCode
        self.regionCode = regionCode
        self.type = type
        self.nationalNumber = nationalNumber
    }

    var testDescription: String { "\(input.debugDescription) in \(defaultRegion ?? "no region")" }

    func check() throws {
        let number = try PhoneNumberParser.parse(input, defaultRegion: defaultRegion)
        #expect(number.e164 == e164)
        #expect(number.countryCode == countryCode)
        #expect(number.regionCode == regionCode)
        #expect(number.type == type)
        #expect(number.nationalNumber == nationalNumber)
        #expect(number.formatted(.e164) == e164)
    }
}

@Suite("Parsing international numbers")
struct InternationalParsingTests {
    static let cases: [ParseCase] = [
        // Hand-picked, one or more per market.
        ParseCase("+4915112345678", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("+49 30 123456", "+4930123456", 49, "DE", .fixedLine, nsn: "30123456"),
        ParseCase("+49 900 1 234567", "+499001234567", 49, "DE", .premiumRate, nsn: "9001234567"),
        ParseCase("+44 7400 123456", "+447400123456", 44, "GB", .mobile, nsn: "7400123456"),
        ParseCase("+44 20 7946 0958", "+442079460958", 44, "GB", .fixedLine, nsn: "2079460958"),
        ParseCase("+44 909 876 5432", "+449098765432", 44, "GB", .premiumRate, nsn: "9098765432"),
        ParseCase("+1 415 555 2671", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("+1 800 356 9377", "+18003569377", 1, "US", .tollFree, nsn: "8003569377"),
        ParseCase("+1 900 555 0123", "+19005550123", 1, "US", .premiumRate, nsn: "9005550123"),
        ParseCase("+1 613 555 0123", "+16135550123", 1, "CA", .fixedLineOrMobile, nsn: "6135550123"),
        ParseCase("+1 242 359 1234", "+12423591234", 1, "BS", .mobile, nsn: "2423591234"),
        ParseCase("+33 6 12 34 56 78", "+33612345678", 33, "FR", .mobile, nsn: "612345678"),
        ParseCase("+91 98765 43210", "+919876543210", 91, "IN", .mobile, nsn: "9876543210"),
        ParseCase("+55 11 91234 5678", "+5511912345678", 55, "BR", .mobile, nsn: "11912345678"),
        ParseCase("+81 90 1234 5678", "+819012345678", 81, "JP", .mobile, nsn: "9012345678"),
        ParseCase("+61 412 345 678", "+61412345678", 61, "AU", .mobile, nsn: "412345678"),
        ParseCase("+234 802 123 4567", "+2348021234567", 234, "NG", .mobile, nsn: "8021234567"),
        ParseCase("+86 131 2345 6789", "+8613123456789", 86, "CN", .mobile, nsn: "13123456789"),
        ParseCase("+27 82 123 4567", "+27821234567", 27, "ZA", .mobile, nsn: "821234567"),
        ParseCase("+7 912 345 6789", "+79123456789", 7, "RU", .mobile, nsn: "9123456789"),
        ParseCase("+82 10 1234 5678", "+821012345678", 82, "KR", .mobile, nsn: "1012345678"),
        ParseCase("+971 50 123 4567", "+971501234567", 971, "AE", .mobile, nsn: "501234567"),
        // Italian numbers keep their leading zero.
        ParseCase("+39 06 1234 5678", "+390612345678", 39, "IT", .fixedLine, nsn: "0612345678"),
        // Mexico's former mobile token "1" is dropped.
        ParseCase("+52 1 55 1234 5678", "+525512345678", 52, "MX", .fixedLineOrMobile, nsn: "5512345678"),
        // Non-geographic: international freephone has no region.
        ParseCase("+800 1234 5678", "+80012345678", 800, nil, .tollFree, nsn: "12345678"),

        // Ways of writing the same number.
        ParseCase("+49 (0) 30/123456", "+4930123456", 49, "DE", .fixedLine, nsn: "30123456"),
        ParseCase("+49 (0)1511 2345-678", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("+1 (415) 555-2671", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("+1.415.555.2671", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("+1-415-555-2671", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("+1 [415] 555 2671", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("+ 49 1511 2345678", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("  +4915112345678 \r\n", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("+49\u{00A0}1511\u{00A0}2345678", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("+49\u{2013}1511\u{2013}2345678", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("+49\u{200B}1511\u{00AD}2345678", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        // Other scripts' digits, as pasted from phones set to those locales.
        ParseCase("＋４９ １５１１ ２３４５６７８", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("+٤٩١٥١١٢٣٤٥٦٧٨", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("+۹۷۱ ۵۰ ۱۲۳ ۴۵۶۷", "+971501234567", 971, "AE", .mobile, nsn: "501234567"),
        ParseCase("+९१ ९८७६५ ४३२१०", "+919876543210", 91, "IN", .mobile, nsn: "9876543210"),
        // With no default region, a leading 00 is the international prefix.
        ParseCase("0049 1511 2345678", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("00 44 20 7946 0958", "+442079460958", 44, "GB", .fixedLine, nsn: "2079460958"),
    ]

    @Test("international input gives the expected number", arguments: cases)
    func parses(_ testCase: ParseCase) throws {
        try testCase.check()
    }

    @Test("the default region does not change an international number", arguments: cases)
    func regionIgnored(_ testCase: ParseCase) throws {
        guard testCase.input.contains("+") || testCase.input.contains("＋") else { return }
        let withRegion = try PhoneNumberParser.parse(testCase.input, defaultRegion: "US")
        #expect(withRegion.e164 == testCase.e164)
        #expect(withRegion.regionCode == testCase.regionCode)
    }
}

@Suite("Parsing national numbers with a default region")
struct NationalParsingTests {
    static let cases: [ParseCase] = [
        ParseCase("01511 2345678", region: "DE", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("0151-12345678", region: "DE", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("030 123456", region: "DE", "+4930123456", 49, "DE", .fixedLine, nsn: "30123456"),
        ParseCase("030/123456", region: "DE", "+4930123456", 49, "DE", .fixedLine, nsn: "30123456"),
        ParseCase("01511 2345678", region: "de", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("07400 123456", region: "GB", "+447400123456", 44, "GB", .mobile, nsn: "7400123456"),
        ParseCase("020 7946 0958", region: "GB", "+442079460958", 44, "GB", .fixedLine, nsn: "2079460958"),
        ParseCase("(415) 555-2671", region: "US", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("415.555.2671", region: "US", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("1 415 555 2671", region: "US", "+14155552671", 1, "US", .fixedLineOrMobile, nsn: "4155552671"),
        ParseCase("(613) 555-0123", region: "US", "+16135550123", 1, "CA", .fixedLineOrMobile, nsn: "6135550123"),
        ParseCase("06 12 34 56 78", region: "FR", "+33612345678", 33, "FR", .mobile, nsn: "612345678"),
        ParseCase("98765 43210", region: "IN", "+919876543210", 91, "IN", .mobile, nsn: "9876543210"),
        ParseCase("(11) 91234-5678", region: "BR", "+5511912345678", 55, "BR", .mobile, nsn: "11912345678"),
        ParseCase("090-1234-5678", region: "JP", "+819012345678", 81, "JP", .mobile, nsn: "9012345678"),
        ParseCase("0412 345 678", region: "AU", "+61412345678", 61, "AU", .mobile, nsn: "412345678"),
        ParseCase("0802 123 4567", region: "NG", "+2348021234567", 234, "NG", .mobile, nsn: "8021234567"),
        ParseCase("131 2345 6789", region: "CN", "+8613123456789", 86, "CN", .mobile, nsn: "13123456789"),
        ParseCase("8 (912) 345-67-89", region: "RU", "+79123456789", 7, "RU", .mobile, nsn: "9123456789"),
        ParseCase("06 1234 5678", region: "IT", "+390612345678", 39, "IT", .fixedLine, nsn: "0612345678"),
        // The region's own international prefix.
        ParseCase("011 49 1511 2345678", region: "US", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("0049 1511 2345678", region: "DE", "+4915112345678", 49, "DE", .mobile, nsn: "15112345678"),
        ParseCase("0011 61 412 345 678", region: "AU", "+61412345678", 61, "AU", .mobile, nsn: "412345678"),
        // International input ignores the region.
        ParseCase("+44 7400 123456", region: "US", "+447400123456", 44, "GB", .mobile, nsn: "7400123456"),
    ]

    @Test("national input is read in the default region", arguments: cases)
    func parses(_ testCase: ParseCase) throws {
        try testCase.check()
    }

    @Test("the same number written two ways is equal and hashes the same")
    func equality() throws {
        let international = try PhoneNumberParser.parse("+49 1511 2345678")
        let national = try PhoneNumberParser.parse("01511 2345678", defaultRegion: "DE")
        let other = try PhoneNumberParser.parse("+49 30 123456")
        #expect(international == national)
        #expect(international != other)
        #expect(Set([international, national, other]).count == 2)
    }
}
