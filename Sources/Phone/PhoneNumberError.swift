/// Why a string is not a usable phone number.
///
/// `description` is a sentence for people (and logs). It never contains the
/// input, so it can be logged and shown to any user.
public struct PhoneNumberError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// Nothing but whitespace.
        case empty
        /// Not something a phone number can be written with: letters (vanity
        /// numbers, "ext."), emoji, control characters, NUL, or no digits.
        case notANumber = "not_a_number"
        /// The digits after '+' (or an international prefix) start with no
        /// assigned country calling code, e.g. `+999`.
        case invalidCountryCode = "invalid_country_code"
        /// A national number (no '+') and no default region to read it in.
        case missingCountry = "missing_country"
        /// An international prefix (`00`, `011`, …) with too few digits after it.
        case tooShortAfterIDD = "too_short_after_idd"
        /// Fewer digits than any number of its country (or only a local number
        /// without its area code).
        case tooShort = "too_short"
        /// More digits than any number of its country.
        case tooLong = "too_long"
        /// A digit count between the shortest and longest numbers of its
        /// country that no number there actually has.
        case invalidForRegion = "invalid_for_region"
        /// The length is right but the digits match no range in use
        /// (e.g. a US area code starting with 2-0-0).
        case invalidNumber = "invalid_number"
        /// Longer than `PhoneNumberParser.maximumInputLength`; not parsed at all.
        case inputTooLong = "input_too_long"
        /// The `defaultRegion` given to the parser is not a region
        /// libphonenumber knows. A caller bug or bad configuration rather than
        /// bad user input.
        case invalidDefaultRegion = "invalid_default_region"
    }

    public let reason: Reason

    public init(_ reason: Reason) {
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .empty:
            "The phone number is empty."
        case .notANumber:
            "This is not a phone number: use digits, an optional leading '+', and spaces, dashes, dots, slashes or parentheses."
        case .invalidCountryCode:
            "The country calling code does not exist."
        case .missingCountry:
            "The number has no country calling code: write it with a leading '+' and the country code, or choose a country."
        case .tooShortAfterIDD:
            "There are too few digits after the international dialling prefix."
        case .tooShort:
            "The number has too few digits (is the area code missing?)."
        case .tooLong:
            "The number has too many digits."
        case .invalidForRegion:
            "No phone number in that country has this many digits."
        case .invalidNumber:
            "The number does not exist in that country's numbering plan."
        case .inputTooLong:
            "The input is too long to be a phone number."
        case .invalidDefaultRegion:
            "The default country is not a known two-letter ISO country code."
        }
    }
}
