import Phone
import Testing

struct ErrorCase: Sendable, CustomTestStringConvertible {
    let input: String
    let defaultRegion: String?
    let reason: PhoneNumberError.Reason
    let why: String

    init(_ input: String, region defaultRegion: String? = nil, _ reason: PhoneNumberError.Reason, _ why: String) {
        self.input = input
        self.defaultRegion = defaultRegion
        self.reason = reason
        self.why = why
    }

    var testDescription: String { "\(reason.rawValue): \(why)" }
}

@Suite("Parse errors")
struct ErrorTests {
    static let cases: [ErrorCase] = [
        ErrorCase("", .empty, "empty string"),
        ErrorCase(" \t\r\n\u{3000}", .empty, "only whitespace"),
        ErrorCase("", region: "US", .empty, "empty with a region"),

        ErrorCase("abc", .notANumber, "letters"),
        ErrorCase("abc", region: "US", .notANumber, "letters with a region"),
        ErrorCase("1-800-FLOWERS", region: "US", .notANumber, "vanity number"),
        ErrorCase("+1 800 FLOWERS", .notANumber, "international vanity number"),
        ErrorCase("Tel: +49 1511 2345678 thanks", .notANumber, "surrounding text"),
        ErrorCase("tel:+1-415-555-2671", .notANumber, "tel: URI"),
        ErrorCase("+1 415 555 2671 ext. 12", .notANumber, "extension: ext."),
        ErrorCase("+1 415 555 2671 x12", .notANumber, "extension: x"),
        ErrorCase("+1 415 555 2671 #12", .notANumber, "extension: #"),
        ErrorCase("+1 415 555 2671 ~ 12", .notANumber, "extension: ~"),
        ErrorCase("+1 415 555 2671;ext=12", .notANumber, "extension: RFC 3966"),
        ErrorCase("+1 415 555 2671, 12", .notANumber, "extension: comma"),
        ErrorCase("+49 1511 2345678\u{0}", .notANumber, "trailing NUL"),
        ErrorCase("+49\u{0}1511 2345678", .notANumber, "embedded NUL"),
        ErrorCase("\u{0}", .notANumber, "only NUL"),
        ErrorCase("📞 +49 1511 2345678", .notANumber, "emoji"),
        ErrorCase("+49 1511 2345678 👍🏽", .notANumber, "emoji with modifier"),
        ErrorCase("+49 1511\n2345678", .notANumber, "newline inside"),
        ErrorCase("+49 1511\u{7}2345678", .notANumber, "control character"),
        ErrorCase("+49 1\u{301}511 2345678", .notANumber, "combining mark"),
        ErrorCase("+49 1511 2345678*", .notANumber, "star"),
        ErrorCase("()-./", .notANumber, "punctuation without digits"),
        ErrorCase("+", .notANumber, "a lone plus"),
        ErrorCase("+49++1511 2345678", .notANumber, "plus inside"),

        ErrorCase("+999 123", .invalidCountryCode, "+999 is unassigned"),
        ErrorCase("+999 1234 5678", region: "DE", .invalidCountryCode, "unassigned, with a region"),
        ErrorCase("+0 1234 5678", .invalidCountryCode, "country codes do not start with 0"),
        ErrorCase("000 1234 5678", .invalidCountryCode, "00 prefix then 0"),

        ErrorCase("01511 2345678", .missingCountry, "national DE without region"),
        ErrorCase("(415) 555-2671", .missingCountry, "national US without region"),
        ErrorCase("4915112345678", .missingCountry, "E.164 digits without the plus"),

        ErrorCase("011 1", region: "US", .tooShortAfterIDD, "US prefix 011 then one digit"),
        ErrorCase("00 49", region: "DE", .tooShortAfterIDD, "DE prefix 00 then a country code only"),

        ErrorCase("+49 1", .tooShort, "one digit"),
        ErrorCase("+49 15", .tooShort, "local-only length"),
        ErrorCase("+1 415 555 267", .tooShort, "nine NANP digits"),
        ErrorCase("555 2671", region: "US", .tooShort, "US number without area code"),
        ErrorCase("1", region: "DE", .notANumber, "libphonenumber needs two digits to see a number"),

        ErrorCase("+1 415 555 26711", .tooLong, "eleven NANP digits"),
        ErrorCase("+49 1511 234567890123", .tooLong, "longer than any DE number"),
        ErrorCase("+49 151 1234567890123456", .tooLong, "longer than any national number"),

        ErrorCase("+47 234 56 78", .invalidForRegion, "NO numbers have 5 or 8 digits, not 7"),

        ErrorCase("+1 200 555 0100", .invalidNumber, "NANP area codes do not start with 2-0-0"),
        ErrorCase("+49 151 123", .invalidNumber, "possible DE length, no such range"),
        ErrorCase("+44 20 7946 095", .invalidNumber, "a digit short for London"),
        ErrorCase("+882 1234 5678", .invalidNumber, "unallocated satellite range"),

        ErrorCase(String(repeating: "1", count: 10_000), .inputTooLong, "10 kB of digits"),
        ErrorCase(String(repeating: "\u{0}", count: 10_000), .inputTooLong, "10 kB of NUL"),
        ErrorCase(String(repeating: " ", count: 65), .inputTooLong, "65 spaces"),
        ErrorCase("+49 1511 2345678" + String(repeating: " ", count: 49), .inputTooLong, "65 scalars"),
        ErrorCase(String(repeating: "🎉", count: 65), .inputTooLong, "65 emoji"),
        ErrorCase(String(repeating: "+49 ", count: 1_000), region: "XX", .inputTooLong, "length wins over region"),

        ErrorCase("+4915112345678", region: "XX", .invalidDefaultRegion, "unknown region"),
        ErrorCase("01511 2345678", region: "", .invalidDefaultRegion, "empty region"),
        ErrorCase("01511 2345678", region: "DEU", .invalidDefaultRegion, "alpha-3"),
        ErrorCase("01511 2345678", region: "001", .invalidDefaultRegion, "non-geographic pseudo-region"),
        ErrorCase("01511 2345678", region: "ZZ", .invalidDefaultRegion, "unknown-region code"),
        ErrorCase("01511 2345678", region: "D\u{0}", .invalidDefaultRegion, "NUL in region"),
        ErrorCase("01511 2345678", region: "ÄÖ", .invalidDefaultRegion, "non-ASCII region"),
        ErrorCase("01511 2345678", region: "D", .invalidDefaultRegion, "one letter"),
    ]

    @Test("bad input throws the specific reason", arguments: cases)
    func throwsReason(_ testCase: ErrorCase) {
        #expect(throws: PhoneNumberError(testCase.reason)) {
            try PhoneNumberParser.parse(testCase.input, defaultRegion: testCase.defaultRegion)
        }
    }

    @Test("every reason is produced by some real input")
    func everyReasonCovered() {
        #expect(Set(Self.cases.map(\.reason)) == Set(PhoneNumberError.Reason.allCases))
    }

    @Test("descriptions are sentences without digits, so they never echo input", arguments: PhoneNumberError.Reason.allCases)
    func description(_ reason: PhoneNumberError.Reason) {
        let text = PhoneNumberError(reason).description
        #expect(text.first?.isUppercase == true)
        #expect(text.hasSuffix("."))
        #expect(!text.contains { $0.isNumber })
        #expect(String(reflecting: PhoneNumberError(reason)) == text)
    }

    @Test("the input limit is inclusive")
    func limitInclusive() throws {
        let padded = "+49 1511 2345678" + String(repeating: " ", count: PhoneNumberParser.maximumInputLength - 16)
        #expect(padded.unicodeScalars.count == PhoneNumberParser.maximumInputLength)
        #expect(try PhoneNumberParser.parse(padded).e164 == "+4915112345678")
    }
}
