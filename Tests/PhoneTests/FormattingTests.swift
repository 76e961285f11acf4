import Phone
import Testing

struct FormatCase: Sendable, CustomTestStringConvertible {
    let e164: String
    let international: String
    let national: String
    let rfc3966: String
    var testDescription: String { e164 }
}

@Suite("Formatting")
struct FormattingTests {
    static let cases: [FormatCase] = [
        FormatCase(e164: "+4915112345678", international: "+49 1511 2345678", national: "01511 2345678", rfc3966: "tel:+49-1511-2345678"),
        FormatCase(e164: "+4930123456", international: "+49 30 123456", national: "030 123456", rfc3966: "tel:+49-30-123456"),
        FormatCase(e164: "+14155552671", international: "+1 415-555-2671", national: "(415) 555-2671", rfc3966: "tel:+1-415-555-2671"),
        FormatCase(e164: "+442079460958", international: "+44 20 7946 0958", national: "020 7946 0958", rfc3966: "tel:+44-20-7946-0958"),
        FormatCase(e164: "+447400123456", international: "+44 7400 123456", national: "07400 123456", rfc3966: "tel:+44-7400-123456"),
        FormatCase(e164: "+33612345678", international: "+33 6 12 34 56 78", national: "06 12 34 56 78", rfc3966: "tel:+33-6-12-34-56-78"),
        FormatCase(e164: "+819012345678", international: "+81 90-1234-5678", national: "090-1234-5678", rfc3966: "tel:+81-90-1234-5678"),
        FormatCase(e164: "+390612345678", international: "+39 06 1234 5678", national: "06 1234 5678", rfc3966: "tel:+39-06-1234-5678"),
        FormatCase(e164: "+79123456789", international: "+7 912 345-67-89", national: "8 (912) 345-67-89", rfc3966: "tel:+7-912-345-67-89"),
        FormatCase(e164: "+5511912345678", international: "+55 11 91234-5678", national: "(11) 91234-5678", rfc3966: "tel:+55-11-91234-5678"),
        FormatCase(e164: "+80012345678", international: "+800 1234 5678", national: "1234 5678", rfc3966: "tel:+800-1234-5678"),
    ]

    @Test("each style formats as libphonenumber does", arguments: cases)
    func styles(_ testCase: FormatCase) throws {
        let number = try PhoneNumberParser.parse(testCase.e164)
        #expect(number.formatted(.e164) == testCase.e164)
        #expect(number.formatted(.international) == testCase.international)
        #expect(number.formatted(.national) == testCase.national)
        #expect(number.formatted(.rfc3966) == testCase.rfc3966)
    }

    @Test("international and national formats parse back to the same number", arguments: cases)
    func roundTrip(_ testCase: FormatCase) throws {
        let number = try PhoneNumberParser.parse(testCase.e164)
        #expect(try PhoneNumberParser.parse(number.formatted(.international)) == number)
        if let region = number.regionCode {
            #expect(try PhoneNumberParser.parse(number.formatted(.national), defaultRegion: region) == number)
        }
    }
}
