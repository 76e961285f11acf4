/// A valid phone number in canonical form.
///
/// Only `PhoneNumberParser` (and `Decodable`, which goes through it) creates
/// values, so every `PhoneNumber` passed libphonenumber's `IsValidNumber`.
/// Two numbers are equal when their E.164 forms are.
///
/// Printing a number — `description`, string interpolation,
/// `String(reflecting:)`, `dump`, swift-log metadata — shows a redacted form
/// such as `+49*********78`, so numbers can be logged. Use `e164` or
/// `formatted(_:)` where the real number is needed.
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// E.164 form, e.g. `+4915112345678`.
    public let e164: String
    /// Country calling code, e.g. 49.
    public let countryCode: Int
    /// National significant number: no country code, no national prefix
    /// (DE's leading 0), but Italian-style leading zeros kept; e.g. `15112345678`.
    public let nationalNumber: String
    /// ISO 3166-1 alpha-2 region, e.g. `DE`; `nil` for non-geographic numbers
    /// such as +800 (international freephone) or +882 (satellite, IoT).
    /// Within a shared calling code this is the region of the number itself:
    /// `CA` for a Toronto +1 number, `JE` for a Jersey +44 number.
    public let regionCode: String?
    /// The kind of line, from the numbering plan.
    public let type: PhoneNumberType

    init(e164: String, countryCode: Int, nationalNumber: String, regionCode: String?, type: PhoneNumberType) {
        self.e164 = e164
        self.countryCode = countryCode
        self.nationalNumber = nationalNumber
        self.regionCode = regionCode
        self.type = type
    }

    /// Whether the number can be expected to receive SMS: mobile, or
    /// fixed-line-or-mobile (all NANP numbers). See `PhoneNumberType.isSMSCapable`.
    public var isSMSCapable: Bool { type.isSMSCapable }

    /// The number written in `style`, e.g. `+49 1511 2345678` for `.international`.
    public func formatted(_ style: PhoneNumberFormat) -> String {
        if style == .e164 { return e164 }
        // Cannot fail for a number that parsed; E.164 is the safe fallback.
        return LibPhoneNumber.format(e164: e164, style) ?? e164
    }

    /// Redacted for logs: '+', the country code, one '*' per digit of the
    /// national number, and its last two digits when it has at least seven
    /// (`+49*********78`). Never the full number.
    public var description: String {
        let digits = Array(nationalNumber)
        let shown = digits.count >= 7 ? 2 : 0
        return "+\(countryCode)" + String(repeating: "*", count: digits.count - shown) + String(digits.suffix(shown))
    }

    /// Keeps `dump` and debuggers from showing the stored, unredacted fields.
    public var customMirror: Mirror {
        Mirror(self, children: ["redacted": description, "type": type], displayStyle: .struct)
    }

    public static func == (lhs: PhoneNumber, rhs: PhoneNumber) -> Bool {
        lhs.e164 == rhs.e164
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(e164)
    }
}

extension PhoneNumber: Codable {
    /// Decodes a string in international format (normally E.164) and
    /// validates it with `PhoneNumberParser.parse(_:)`; an invalid number is a
    /// `DecodingError.dataCorrupted` whose message is the redacted reason.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try PhoneNumberParser.parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the E.164 string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(e164)
    }
}
