/// What kind of line a number belongs to, from the numbering plan of its country
/// (libphonenumber's `PhoneNumberUtil::PhoneNumberType`).
///
/// The type comes from number patterns, not from a carrier lookup: a ported or
/// reassigned number keeps the type of the range it was allocated from.
public enum PhoneNumberType: String, Sendable, CaseIterable, Codable {
    case fixedLine = "fixed_line"
    case mobile
    /// The country's fixed-line and mobile ranges cannot be told apart from the
    /// number alone. All NANP numbers (+1: US, CA, …) are this type.
    case fixedLineOrMobile = "fixed_line_or_mobile"
    case tollFree = "toll_free"
    case premiumRate = "premium_rate"
    case sharedCost = "shared_cost"
    case voip
    /// A "follow-me" number that forwards to another line (e.g. GB 070).
    case personalNumber = "personal_number"
    case pager
    /// Universal access / company numbers (e.g. GB 055, DE 0180 ranges).
    case uan
    case voicemail
    /// Matches no known pattern. Never the type of a parsed `PhoneNumber`,
    /// which is always valid.
    case unknown

    /// Whether numbers of this type can be expected to receive SMS.
    ///
    /// `true` only for `.mobile` and `.fixedLineOrMobile`. The latter covers
    /// all of North America, where mobile and landline ranges are identical and
    /// most numbers (mobile, VoIP, many landlines) accept SMS; refusing them
    /// would refuse every US and Canadian recipient.
    ///
    /// `false` for everything else, including:
    /// - `.pager`: paging networks are separate from the mobile SMS network
    ///   and most have been switched off; SMS gateways do not deliver to them.
    /// - `.voip` and `.personalNumber`: SMS support varies by provider and is
    ///   usually absent; they are not worth a paid, probably failing send.
    /// - `.fixedLine`, `.tollFree`, `.premiumRate`, `.sharedCost`, `.uan`,
    ///   `.voicemail`, `.unknown`.
    ///
    /// This is a heuristic from the numbering plan, not a delivery guarantee.
    public var isSMSCapable: Bool {
        switch self {
        case .mobile, .fixedLineOrMobile:
            true
        case .fixedLine, .tollFree, .premiumRate, .sharedCost, .voip, .personalNumber, .pager,
            .uan, .voicemail, .unknown:
            false
        }
    }
}
