internal import CPhoneNumber

/// Thin Swift wrappers over the `herald_phone_*` C functions.
///
/// Everything here may be called concurrently: the C side only uses
/// libphonenumber's process-wide `PhoneNumberUtil` singleton, created once under
/// `pthread_once`, and its const methods, whose one shared cache is guarded by a
/// mutex (see CPhoneNumber.h).
enum LibPhoneNumber {
    /// What the C side reports about one parsed number, as Swift values.
    struct Info: Sendable, Equatable {
        var countryCode: Int
        var type: PhoneNumberType
        var possibility: Possibility
        var isValid: Bool
        var hasExtension: Bool
        var e164: String
        var nationalNumber: String
        /// "DE", "001" for non-geographic numbers, "" for none.
        var regionCode: String
    }

    /// `PhoneNumberUtil::ValidationResult`.
    enum Possibility: Sendable, Equatable {
        case possible, possibleLocalOnly, invalidCountryCode, tooShort, invalidLength, tooLong
    }

    /// `herald_phone_status` other than OK.
    enum ParseFailure: Error, Sendable, Equatable {
        case invalidCountryCode, notANumber, tooShortAfterIDD, tooShortNSN, tooLongNSN
        case invalidArgument, internalError
    }

    /// Parses UTF-8 bytes (`herald_phone_parse`). `defaultRegion` must already
    /// be upper case; nil means none.
    static func parse(
        utf8 bytes: UnsafeBufferPointer<UInt8>,
        defaultRegion: String?
    ) -> Result<Info, ParseFailure> {
        var info = herald_phone_info()
        let status: herald_phone_status = bytes.withMemoryRebound(to: CChar.self) { chars in
            if let defaultRegion {
                defaultRegion.withCString { herald_phone_parse(chars.baseAddress, chars.count, $0, &info) }
            } else {
                herald_phone_parse(chars.baseAddress, chars.count, nil, &info)
            }
        }
        switch status {
        case .HERALD_PHONE_STATUS_OK: return .success(Info(info))
        case .HERALD_PHONE_STATUS_INVALID_COUNTRY_CODE: return .failure(.invalidCountryCode)
        case .HERALD_PHONE_STATUS_NOT_A_NUMBER: return .failure(.notANumber)
        case .HERALD_PHONE_STATUS_TOO_SHORT_AFTER_IDD: return .failure(.tooShortAfterIDD)
        case .HERALD_PHONE_STATUS_TOO_SHORT_NSN: return .failure(.tooShortNSN)
        case .HERALD_PHONE_STATUS_TOO_LONG_NSN: return .failure(.tooLongNSN)
        case .HERALD_PHONE_STATUS_INVALID_ARGUMENT: return .failure(.invalidArgument)
        case .HERALD_PHONE_STATUS_INTERNAL_ERROR: return .failure(.internalError)
        @unknown default: return .failure(.internalError)
        }
    }

    /// Formats an E.164 number; nil if the C side cannot parse it.
    static func format(e164: String, _ style: PhoneNumberFormat) -> String? {
        let cStyle: herald_phone_format_style =
            switch style {
            case .e164: .HERALD_PHONE_FORMAT_STYLE_E164
            case .international: .HERALD_PHONE_FORMAT_STYLE_INTERNATIONAL
            case .national: .HERALD_PHONE_FORMAT_STYLE_NATIONAL
            case .rfc3966: .HERALD_PHONE_FORMAT_STYLE_RFC3966
            }
        return e164.withCString { number -> String? in
            var capacity = 64
            while true {
                var buffer = [CChar](repeating: 0, count: capacity)
                let needed = herald_phone_format(number, cStyle, &buffer, capacity)
                if needed == 0 { return nil }
                if needed < capacity {
                    return String(decoding: buffer.prefix(needed).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                capacity = needed + 1
            }
        }
    }

    /// `herald_phone_country_code_for_region`; 0 for an unknown region.
    static func countryCode(forRegion region: String) -> Int {
        Int(region.withCString { herald_phone_country_code_for_region($0) })
    }

    static func regionCodes(forCountryCode countryCode: Int32) -> [String] {
        regionList { herald_phone_region_codes_for_country_code(countryCode, $0, $1) }
    }

    static func supportedRegions() -> [String] {
        regionList { herald_phone_supported_regions($0, $1) }
    }

    static func exampleNumber(region: String, type: PhoneNumberType) -> Info? {
        var info = herald_phone_info()
        let found = region.withCString { herald_phone_example_number($0, herald_phone_type(type), &info) }
        return found ? Info(info) : nil
    }

    static func exampleNumber(nonGeographicCountryCode countryCode: Int32) -> Info? {
        var info = herald_phone_info()
        return herald_phone_example_number_for_non_geographic_code(countryCode, &info) ? Info(info) : nil
    }

    /// Calls a C function that fills a region-code array and returns the total
    /// count, growing the array until everything fits.
    private static func regionList(
        _ fill: (UnsafeMutablePointer<herald_phone_region_code>?, Int) -> Int
    ) -> [String] {
        var capacity = 32
        while true {
            var codes = [herald_phone_region_code](repeating: herald_phone_region_code(), count: capacity)
            let total = codes.withUnsafeMutableBufferPointer { fill($0.baseAddress, $0.count) }
            if total <= capacity {
                return codes.prefix(total).map { string(fromCChars: $0.code) }
            }
            capacity = total
        }
    }
}

extension LibPhoneNumber.Info {
    fileprivate init(_ info: herald_phone_info) {
        self.init(
            countryCode: Int(info.country_code),
            type: PhoneNumberType(info.type),
            possibility: LibPhoneNumber.Possibility(info.possibility),
            isValid: info.is_valid,
            hasExtension: info.has_extension,
            e164: string(fromCChars: info.e164),
            nationalNumber: string(fromCChars: info.national_number),
            regionCode: string(fromCChars: info.region_code)
        )
    }
}

extension LibPhoneNumber.Possibility {
    fileprivate init(_ possibility: herald_phone_possibility) {
        switch possibility {
        case .HERALD_PHONE_POSSIBILITY_IS_POSSIBLE: self = .possible
        case .HERALD_PHONE_POSSIBILITY_IS_POSSIBLE_LOCAL_ONLY: self = .possibleLocalOnly
        case .HERALD_PHONE_POSSIBILITY_INVALID_COUNTRY_CODE: self = .invalidCountryCode
        case .HERALD_PHONE_POSSIBILITY_TOO_SHORT: self = .tooShort
        case .HERALD_PHONE_POSSIBILITY_INVALID_LENGTH: self = .invalidLength
        case .HERALD_PHONE_POSSIBILITY_TOO_LONG: self = .tooLong
        @unknown default: self = .invalidLength
        }
    }
}

extension PhoneNumberType {
    fileprivate init(_ type: herald_phone_type) {
        switch type {
        case .HERALD_PHONE_TYPE_FIXED_LINE: self = .fixedLine
        case .HERALD_PHONE_TYPE_MOBILE: self = .mobile
        case .HERALD_PHONE_TYPE_FIXED_LINE_OR_MOBILE: self = .fixedLineOrMobile
        case .HERALD_PHONE_TYPE_TOLL_FREE: self = .tollFree
        case .HERALD_PHONE_TYPE_PREMIUM_RATE: self = .premiumRate
        case .HERALD_PHONE_TYPE_SHARED_COST: self = .sharedCost
        case .HERALD_PHONE_TYPE_VOIP: self = .voip
        case .HERALD_PHONE_TYPE_PERSONAL_NUMBER: self = .personalNumber
        case .HERALD_PHONE_TYPE_PAGER: self = .pager
        case .HERALD_PHONE_TYPE_UAN: self = .uan
        case .HERALD_PHONE_TYPE_VOICEMAIL: self = .voicemail
        case .HERALD_PHONE_TYPE_UNKNOWN: self = .unknown
        @unknown default: self = .unknown
        }
    }
}

extension herald_phone_type {
    fileprivate init(_ type: PhoneNumberType) {
        self =
            switch type {
            case .fixedLine: .HERALD_PHONE_TYPE_FIXED_LINE
            case .mobile: .HERALD_PHONE_TYPE_MOBILE
            case .fixedLineOrMobile: .HERALD_PHONE_TYPE_FIXED_LINE_OR_MOBILE
            case .tollFree: .HERALD_PHONE_TYPE_TOLL_FREE
            case .premiumRate: .HERALD_PHONE_TYPE_PREMIUM_RATE
            case .sharedCost: .HERALD_PHONE_TYPE_SHARED_COST
            case .voip: .HERALD_PHONE_TYPE_VOIP
            case .personalNumber: .HERALD_PHONE_TYPE_PERSONAL_NUMBER
            case .pager: .HERALD_PHONE_TYPE_PAGER
            case .uan: .HERALD_PHONE_TYPE_UAN
            case .voicemail: .HERALD_PHONE_TYPE_VOICEMAIL
            case .unknown: .HERALD_PHONE_TYPE_UNKNOWN
            }
    }
}

/// Reads a NUL-terminated string out of a fixed-size C `char[N]` array, which
/// Swift imports as a tuple. Stops at the end of the array if there is no NUL.
private func string<Tuple>(fromCChars tuple: Tuple) -> String {
    withUnsafeBytes(of: tuple) { bytes in
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}
