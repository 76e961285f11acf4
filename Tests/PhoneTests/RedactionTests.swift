import Phone
import Testing

@Suite("Redaction")
struct RedactionTests {
    static let numbers: [String] = [
        "+4915112345678", "+4930123456", "+14155552671", "+442079460958", "+390612345678",
        "+80012345678", "+8613123456789", "+2348021234567",
    ]

    static func allRenderings(of number: PhoneNumber) -> [String] {
        var dumped = ""
        dump(number, to: &dumped)
        return [
            number.description, "\(number)", String(describing: number), String(reflecting: number),
            "\([number])", "\(Optional(number) as Any)", "\(["to": number])", dumped,
        ]
    }

    @Test("description shows country code, stars and the last two digits", arguments: [
        ("+4915112345678", "+49*********78"),
        ("+14155552671", "+1********71"),
        ("+442079460958", "+44********58"),
        ("+390612345678", "+39********78"),
        ("+80012345678", "+800******78"),
    ])
    func format(_ e164: String, _ redacted: String) throws {
        #expect(try PhoneNumberParser.parse(e164).description == redacted)
    }

    @Test("no way of printing a number shows it", arguments: numbers)
    func neverFull(_ e164: String) throws {
        let number = try PhoneNumberParser.parse(e164)
        for text in Self.allRenderings(of: number) {
            #expect(!text.contains(number.nationalNumber), "\(text)")
            #expect(!text.contains(number.e164))
            #expect(!text.contains(number.formatted(.international)))
            // Digits appear only inside the redacted form.
            let rest = text.split(separator: number.description).joined()
            #expect(!rest.contains { $0.isNumber }, "\(text)")
        }
    }

    @Test("short national numbers show no digits at all")
    func shortNumbers() throws {
        // Niue: four-digit numbers.
        let niue = try #require(PhoneNumberParser.exampleNumber(region: "NU", type: .fixedLine))
        #expect(niue.nationalNumber.count < 7)
        #expect(niue.description == "+683" + String(repeating: "*", count: niue.nationalNumber.count))
    }

    @Test("every example number is redacted", arguments: ["DE", "US", "GB", "NU", "SH", "IT", "CN", "IN"])
    func examples(_ region: String) {
        for type in PhoneNumberType.allCases {
            guard let number = PhoneNumberParser.exampleNumber(region: region, type: type) else { continue }
            for text in Self.allRenderings(of: number) {
                #expect(!text.contains(number.nationalNumber), "\(region) \(type)")
            }
        }
    }
}

@Suite("SMS capability")
struct SMSCapabilityTests {
    @Test("only mobile and fixed-line-or-mobile numbers are SMS-capable", arguments: PhoneNumberType.allCases)
    func types(_ type: PhoneNumberType) {
        #expect(type.isSMSCapable == (type == .mobile || type == .fixedLineOrMobile))
    }

    @Test("parsed numbers", arguments: [
        ("+4915112345678", true), ("+4930123456", false), ("+447400123456", true), ("+442079460958", false),
        ("+14155552671", true), ("+18003569377", false), ("+19005550123", false), ("+499001234567", false),
        ("+80012345678", false), ("+33612345678", true),
    ])
    func parsed(_ e164: String, _ capable: Bool) throws {
        #expect(try PhoneNumberParser.parse(e164).isSMSCapable == capable)
    }

    @Test("type raw values are the snake_case names used in the database and API")
    func rawValues() {
        #expect(PhoneNumberType.allCases.map(\.rawValue) == [
            "fixed_line", "mobile", "fixed_line_or_mobile", "toll_free", "premium_rate", "shared_cost",
            "voip", "personal_number", "pager", "uan", "voicemail", "unknown",
        ])
    }
}
