/// How `PhoneNumber.formatted(_:)` writes a number
/// (libphonenumber's `PhoneNumberUtil::PhoneNumberFormat`).
public enum PhoneNumberFormat: String, Sendable, Hashable, CaseIterable {
    /// `+4915112345678`: what Herald stores and sends to SMS providers.
    case e164
    /// `+49 1511 2345678`: for people in any country.
    case international
    /// `01511 2345678`: for people in the number's own country.
    case national
    /// `tel:+49-1511-2345678`: for `tel:` links.
    case rfc3966
}
