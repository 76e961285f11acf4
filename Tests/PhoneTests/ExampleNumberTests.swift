import Phone
import Testing

@Suite("libphonenumber's example numbers, every region and type")
struct ExampleNumberTests {
    /// Types libphonenumber may report for an example of `requested`: its
    /// fixed-line example stands for FIXED_LINE_OR_MOBILE too, and where the
    /// fixed-line and mobile patterns overlap it classifies both as the latter.
    static func acceptableTypes(for requested: PhoneNumberType) -> Set<PhoneNumberType> {
        switch requested {
        case .fixedLine, .mobile: [requested, .fixedLineOrMobile]
        case .fixedLineOrMobile: [.fixedLine, .mobile, .fixedLineOrMobile]
        default: [requested]
        }
    }

    @Test("examples are classified, parse back from every format, and belong to their region",
          arguments: PhoneNumberParser.supportedRegions)
    func region(_ region: String) throws {
        let countryCode = try #require(PhoneNumberParser.countryCode(forRegion: region))
        var found = 0
        for type in PhoneNumberType.allCases where type != .unknown {
            guard let example = PhoneNumberParser.exampleNumber(region: region, type: type) else { continue }
            found += 1
            let context = Comment(rawValue: "\(region) \(type)")
            #expect(Self.acceptableTypes(for: type).contains(example.type), context)
            #expect(example.countryCode == countryCode, context)
            // Regions sharing a calling code share some ranges (NANP toll-free,
            // Åland's Finnish mobiles): those report the code's main region.
            let sharing = PhoneNumberParser.regionCodes(forCountryCode: countryCode)
            if sharing.first == region {
                #expect(example.regionCode == region, context)
            } else {
                #expect(example.regionCode.map(sharing.contains) == true, context)
            }
            #expect(example.e164 == "+\(countryCode)\(example.nationalNumber)", context)

            let fromE164 = try PhoneNumberParser.parse(example.e164)
            #expect(fromE164 == example, context)
            #expect(fromE164.type == example.type, context)
            #expect(fromE164.regionCode == example.regionCode, context)
            #expect(fromE164.nationalNumber == example.nationalNumber, context)
            #expect(try PhoneNumberParser.parse(example.formatted(.international)) == example, context)
            #expect(try PhoneNumberParser.parse(example.formatted(.national), defaultRegion: region) == example, context)
            #expect(try PhoneNumberParser.parse(example.formatted(.international), defaultRegion: "US") == example, context)
        }
        #expect(found > 0, "no example numbers for \(region)")
        #expect(PhoneNumberParser.exampleNumber(region: region, type: .unknown) == nil)
    }

    @Test("major markets have an SMS-capable example",
          arguments: ["US", "CA", "GB", "DE", "FR", "IT", "ES", "IN", "BR", "MX", "JP", "CN", "AU", "NG", "ZA", "KE"])
    func majorMarket(_ region: String) throws {
        let mobile = try #require(PhoneNumberParser.exampleNumber(region: region, type: .mobile))
        #expect(mobile.isSMSCapable)
        #expect(mobile.regionCode == region)
        if let fixed = PhoneNumberParser.exampleNumber(region: region, type: .fixedLine), fixed.type == .fixedLine {
            #expect(!fixed.isSMSCapable)
        }
    }

    @Test("non-geographic examples have no region",
          arguments: [800, 808, 870, 878, 881, 882, 883, 888, 979])
    func nonGeographic(_ countryCode: Int) throws {
        let example = try #require(PhoneNumberParser.exampleNumber(nonGeographicCountryCode: countryCode))
        #expect(example.countryCode == countryCode)
        #expect(example.regionCode == nil)
        #expect(example.type != .unknown)
        #expect(try PhoneNumberParser.parse(example.e164) == example)
        #expect(PhoneNumberParser.regionCodes(forCountryCode: countryCode).isEmpty)
    }

    @Test("unknown regions and codes have no examples")
    func unknown() {
        #expect(PhoneNumberParser.exampleNumber(region: "XX", type: .mobile) == nil)
        #expect(PhoneNumberParser.exampleNumber(region: "001", type: .tollFree) == nil)
        #expect(PhoneNumberParser.exampleNumber(region: "", type: .mobile) == nil)
        #expect(PhoneNumberParser.exampleNumber(nonGeographicCountryCode: 49) == nil)
        #expect(PhoneNumberParser.exampleNumber(nonGeographicCountryCode: -1) == nil)
        #expect(PhoneNumberParser.exampleNumber(nonGeographicCountryCode: .max) == nil)
        #expect(PhoneNumberParser.exampleNumber(region: "de", type: .mobile)?.regionCode == "DE")
    }
}

@Suite("Regions and country codes")
struct RegionTests {
    @Test("region validity", arguments: [
        ("US", true), ("us", true), ("De", true), ("GB", true), ("JE", true), ("AC", true),
        ("XX", false), ("ZZ", false), ("001", false), ("", false), ("U", false), ("USA", false),
        ("U\u{0}", false), ("ÜS", false), ("U S", false), ("12", false), ("🇺🇸", false),
    ])
    func validity(_ code: String, _ valid: Bool) {
        #expect(PhoneNumberParser.isValidRegion(code) == valid)
        #expect((PhoneNumberParser.countryCode(forRegion: code) != nil) == valid)
    }

    @Test("country code for region")
    func countryCodes() {
        #expect(PhoneNumberParser.countryCode(forRegion: "DE") == 49)
        #expect(PhoneNumberParser.countryCode(forRegion: "us") == 1)
        #expect(PhoneNumberParser.countryCode(forRegion: "CA") == 1)
        #expect(PhoneNumberParser.countryCode(forRegion: "NG") == 234)
        #expect(PhoneNumberParser.countryCode(forRegion: "XX") == nil)
    }

    @Test("regions for a country code, main region first")
    func regionsForCode() {
        let nanp = PhoneNumberParser.regionCodes(forCountryCode: 1)
        #expect(nanp.first == "US")
        #expect(nanp.contains("CA") && nanp.contains("BS") && nanp.contains("PR"))
        #expect(PhoneNumberParser.regionCodes(forCountryCode: 44) == ["GB", "GG", "IM", "JE"])
        #expect(PhoneNumberParser.regionCodes(forCountryCode: 49) == ["DE"])
        #expect(PhoneNumberParser.regionCodes(forCountryCode: 7).first == "RU")
        for code in [0, -1, 999, 1_000, 800, Int.max, Int.min] {
            #expect(PhoneNumberParser.regionCodes(forCountryCode: code).isEmpty, "\(code)")
        }
    }

    @Test("supported regions are sorted, valid, and found again through their country code")
    func supported() throws {
        let regions = PhoneNumberParser.supportedRegions
        #expect(regions.count > 240)
        #expect(regions == regions.sorted())
        #expect(Set(regions).count == regions.count)
        #expect(!regions.contains("001"))
        for region in regions {
            #expect(PhoneNumberParser.isValidRegion(region), "\(region)")
            let code = try #require(PhoneNumberParser.countryCode(forRegion: region))
            #expect(PhoneNumberParser.regionCodes(forCountryCode: code).contains(region), "\(region)")
        }
    }
}
