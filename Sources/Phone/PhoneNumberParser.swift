/// Parses and validates phone numbers with libphonenumber.
///
/// All methods are safe to call from any thread or task at the same time: they
/// use libphonenumber's process-wide `PhoneNumberUtil` singleton (created once
/// under `pthread_once`) through const methods only, whose one shared cache is
/// guarded by a mutex. Nothing here blocks on I/O; a parse takes microseconds.
public enum PhoneNumberParser {
    /// The longest input, in Unicode scalars, that `parse` looks at; longer
    /// input throws `.inputTooLong` before libphonenumber sees it. Real numbers,
    /// even generously formatted, stay well under half of this.
    public static let maximumInputLength = 64

    /// Parses what a person typed or an import file contained, and returns the
    /// number only if it is valid.
    ///
    /// Accepted input:
    /// - International: `+4915112345678`, `+49 (0)151 1234-5678`, `+1.415.555.2671`.
    ///   With no `defaultRegion`, a leading `00` is read as the international
    ///   prefix (`0049 151…`), as in most of the world.
    /// - National, with `defaultRegion` (ISO 3166-1 alpha-2, any case):
    ///   `01511 2345678` with `"DE"`, `(415) 555-2671` with `"US"`; also the
    ///   region's own international prefix (`011 49 151…` with `"US"`).
    /// - Digits of any script (fullwidth, Arabic-Indic, Devanagari, …), `+`/`＋`,
    ///   spaces, dashes, dots, slashes, parentheses and brackets.
    ///
    /// Rejected as `.notANumber`: letters, so no vanity numbers
    /// (`1-800-FLOWERS`), extensions (`ext. 12`, `x12`, `#12`, `~12`), `tel:`
    /// URIs or surrounding text (libphonenumber would silently turn the letters
    /// of "… thanks" into digits, or drop an extension). Vanity numbers are
    /// toll-free voice lines, which cannot receive SMS anyway. Also emoji,
    /// control characters and NUL.
    ///
    /// - Throws: `PhoneNumberError`; see `PhoneNumberError.Reason` for each case.
    ///   A number that parses but fails `IsValidNumber` throws the reason from
    ///   `IsPossibleNumberWithReason` (`.tooShort`, `.tooLong`,
    ///   `.invalidForRegion` for an unused length, …) or `.invalidNumber`.
    public static func parse(_ input: String, defaultRegion: String? = nil) throws(PhoneNumberError) -> PhoneNumber {
        // Bound the work before looking at the content; utf8.count is O(1).
        guard input.utf8.count <= maximumInputLength * 4, input.unicodeScalars.count <= maximumInputLength else {
            throw PhoneNumberError(.inputTooLong)
        }
        let scalars = input.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else {
            throw PhoneNumberError(.empty)
        }
        let trimmed = scalars[first...last]

        var hasDigit = false
        var hasPlus = false
        for scalar in trimmed {
            switch CharacterClass(scalar) {
            case .digit: hasDigit = true
            case .plus: hasPlus = true
            case .separator: break
            case .other: throw PhoneNumberError(.notANumber)
            }
        }
        guard hasDigit else { throw PhoneNumberError(.notANumber) }

        var region: String?
        if let defaultRegion {
            guard let normalized = normalizedRegion(defaultRegion) else {
                throw PhoneNumberError(.invalidDefaultRegion)
            }
            region = normalized
        }

        var text = String(trimmed)
        if region == nil, !hasPlus {
            // "0049 151…": with no region the digits have no national reading,
            // so a leading 00 can only be an international prefix, the one most
            // countries use. Anything else needs a country.
            guard text.utf8.starts(with: "00".utf8) else { throw PhoneNumberError(.missingCountry) }
            text = "+" + text.dropFirst(2)
        }

        let result = text.withUTF8 { LibPhoneNumber.parse(utf8: $0, defaultRegion: region) }
        let info: LibPhoneNumber.Info
        switch result {
        case .success(let parsed):
            info = parsed
        case .failure(let failure):
            throw PhoneNumberError(reason(for: failure))
        }
        // Unreachable: every extension marker is rejected above.
        guard !info.hasExtension else { throw PhoneNumberError(.notANumber) }
        guard info.isValid else { throw PhoneNumberError(reason(forInvalid: info.possibility)) }
        return number(from: info)
    }

    /// Whether libphonenumber knows `code` as a region (ISO 3166-1 alpha-2,
    /// any case): `"DE"`, `"us"`. `"001"` (non-geographic) and `"ZZ"` are not.
    public static func isValidRegion(_ code: String) -> Bool {
        normalizedRegion(code) != nil
    }

    /// The regions that share a country calling code, main region first:
    /// `1` → `["US", "AG", "AI", …]`, `44` → `["GB", "GG", "IM", "JE"]`.
    /// Empty for an unassigned code and for non-geographic codes (800, 882, …).
    public static func regionCodes(forCountryCode countryCode: Int) -> [String] {
        guard let code = Int32(exactly: countryCode), code > 0, code <= 999 else { return [] }
        return LibPhoneNumber.regionCodes(forCountryCode: code).filter { $0 != nonGeographicRegion }
    }

    /// The country calling code of a region (`"DE"` → 49), or nil if the
    /// region is unknown.
    public static func countryCode(forRegion region: String) -> Int? {
        guard let normalized = normalizedRegion(region) else { return nil }
        return LibPhoneNumber.countryCode(forRegion: normalized)
    }

    /// Every region libphonenumber has metadata for, sorted (`"AC"` … `"ZW"`).
    public static let supportedRegions: [String] = LibPhoneNumber.supportedRegions()

    /// libphonenumber's example number of `type` for `region`, or nil when the
    /// region is unknown or has no such numbers. For `.fixedLineOrMobile` it is
    /// the fixed-line example. Handy for tests and as input placeholders.
    public static func exampleNumber(region: String, type: PhoneNumberType) -> PhoneNumber? {
        guard type != .unknown, let normalized = normalizedRegion(region),
            let info = LibPhoneNumber.exampleNumber(region: normalized, type: type), info.isValid
        else { return nil }
        return number(from: info)
    }

    /// libphonenumber's example number for a non-geographic calling code
    /// (800, 808, 870, 878, 881, 882, 883, 888, 979), or nil.
    public static func exampleNumber(nonGeographicCountryCode countryCode: Int) -> PhoneNumber? {
        guard let code = Int32(exactly: countryCode), code > 0, code <= 999,
            let info = LibPhoneNumber.exampleNumber(nonGeographicCountryCode: code), info.isValid
        else { return nil }
        return number(from: info)
    }

    // MARK: - Private

    /// libphonenumber's region code for non-geographic numbers ("World").
    private static let nonGeographicRegion = "001"

    private static func number(from info: LibPhoneNumber.Info) -> PhoneNumber {
        PhoneNumber(
            e164: info.e164,
            countryCode: info.countryCode,
            nationalNumber: info.nationalNumber,
            regionCode: info.regionCode.isEmpty || info.regionCode == nonGeographicRegion ? nil : info.regionCode,
            type: info.type
        )
    }

    /// "de" → "DE" if it is a known region; nil otherwise.
    private static func normalizedRegion(_ code: String) -> String? {
        let utf8 = code.utf8
        guard utf8.count == 2, utf8.allSatisfy({ (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0 & ~0x20) })
        else { return nil }
        let upper = String(decoding: utf8.map { $0 & ~0x20 }, as: UTF8.self)
        return LibPhoneNumber.countryCode(forRegion: upper) != 0 ? upper : nil
    }

    private static func reason(for failure: LibPhoneNumber.ParseFailure) -> PhoneNumberError.Reason {
        switch failure {
        case .invalidCountryCode: .invalidCountryCode
        case .notANumber: .notANumber
        case .tooShortAfterIDD: .tooShortAfterIDD
        case .tooShortNSN: .tooShort
        case .tooLongNSN: .tooLong
        // The checks above rule out what the C side calls an invalid argument.
        case .invalidArgument: .notANumber
        // A C++ exception (std::bad_alloc) inside libphonenumber; no better reason.
        case .internalError: .invalidNumber
        }
    }

    private static func reason(forInvalid possibility: LibPhoneNumber.Possibility) -> PhoneNumberError.Reason {
        switch possibility {
        case .possible: .invalidNumber
        // A local number that needs its area code to be dialled from elsewhere.
        case .possibleLocalOnly: .tooShort
        case .invalidCountryCode: .invalidCountryCode
        case .tooShort: .tooShort
        case .invalidLength: .invalidForRegion
        case .tooLong: .tooLong
        }
    }

    /// What a scalar may be in a phone number. Separators are libphonenumber's
    /// VALID_PUNCTUATION without the letter x and the tildes, which it reads as
    /// extension markers.
    private enum CharacterClass {
        case digit, plus, separator, other

        init(_ scalar: Unicode.Scalar) {
            switch scalar.value {
            case 0x30...0x39:
                self = .digit
            case 0x2B, 0xFF0B:  // + ＋
                self = .plus
            case 0x28, 0x29, 0x2D, 0x2E, 0x2F, 0x5B, 0x5D,  // ( ) - . / [ ]
                0x00AD, 0x200B, 0x2060,  // soft hyphen, zero-width space, word joiner
                0x2010...0x2015, 0x2212, 0x30FC,  // ‐ ‑ ‒ – — ― − ー
                0xFF08, 0xFF09, 0xFF0D...0xFF0F, 0xFF3B, 0xFF3D:  // （ ） － ． ／ ［ ］
                self = .separator
            default:
                switch scalar.properties.generalCategory {
                case .decimalNumber: self = .digit
                case .spaceSeparator: self = .separator
                default: self = .other
                }
            }
        }
    }
}
