/// A domain error: what went wrong in Herald's own terms.
///
/// The domain never decides HTTP statuses; `HeraldHTTP` maps each ``Code`` to one at the edge.
/// `message` is written for the person reading it and never contains phone numbers, codes,
/// secrets or SQL; `field` is a JSON path into the request when one input is at fault.
public struct HeraldError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Input that is well-formed JSON but breaks a rule (wrong type, missing, out of range).
        public static let validationFailed = Code(rawValue: "validation_failed")
        /// The resource does not exist (or the caller may not know it exists).
        public static let notFound = Code(rawValue: "not_found")
        /// No or bad credentials.
        public static let unauthorized = Code(rawValue: "unauthorized")
        /// Credentials are fine but lack the scope or role.
        public static let forbidden = Code(rawValue: "forbidden")
        /// E-mail and password do not match an active user.
        public static let invalidCredentials = Code(rawValue: "invalid_credentials")
        /// Too many attempts; `retryAfter` says when to try again.
        public static let rateLimited = Code(rawValue: "rate_limited")
        /// A unique thing (an e-mail, a name) already exists.
        public static let alreadyExists = Code(rawValue: "already_exists")
        /// The CSRF token of a cookie session is missing or wrong.
        public static let csrfFailed = Code(rawValue: "csrf_failed")
        /// The database cannot be reached.
        public static let databaseUnavailable = Code(rawValue: "database_unavailable")
        /// Too much expensive work (password hashing) is already queued; `retryAfter` says when
        /// to try again. The server is busy, not the caller at fault.
        public static let serverBusy = Code(rawValue: "server_busy")
        /// A dashboard user who must choose a new password (the generated first admin, or after
        /// `herald users reset-password`) may only change it, look at itself and sign out.
        public static let passwordChangeRequired = Code(rawValue: "password_change_required")
        /// The current password given to change it is wrong (`field` is `current_password`).
        public static let invalidCurrentPassword = Code(rawValue: "invalid_current_password")
        /// The change would leave no enabled admin: disable, delete or demote another way.
        public static let lastAdmin = Code(rawValue: "last_admin")

        // Messaging
        /// A phone number that does not parse or cannot receive the channel.
        public static let invalidPhoneNumber = Code(rawValue: "invalid_phone_number")
        /// The destination's country is not in `allowed_countries`.
        public static let countryNotAllowed = Code(rawValue: "country_not_allowed")
        /// A marketing message to someone who opted out.
        public static let recipientUnsubscribed = Code(rawValue: "recipient_unsubscribed")
        /// The same `Idempotency-Key` came with a different body.
        public static let idempotencyConflict = Code(rawValue: "idempotency_conflict")
        /// Mustache that does not parse; the message gives the position.
        public static let invalidTemplate = Code(rawValue: "invalid_template")
        /// A named template that does not exist.
        public static let templateNotFound = Code(rawValue: "template_not_found")
        /// A template variable without a value; `field` names it.
        public static let missingVariable = Code(rawValue: "missing_variable")
        /// A provider webhook whose signature (or URL token) is missing or wrong.
        public static let invalidSignature = Code(rawValue: "invalid_signature")
        /// A provider webhook body that cannot be understood.
        public static let invalidWebhook = Code(rawValue: "invalid_webhook")
        /// A provider refused or failed a test submission.
        public static let providerError = Code(rawValue: "provider_error")
    }

    public let code: Code
    public let message: String
    public let field: String?
    /// Seconds after which a rate-limited request may be retried.
    public let retryAfter: Int?

    public init(_ code: Code, _ message: String, field: String? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    public var description: String {
        if let field { return "\(code): \(message) (field \(field))" }
        return "\(code): \(message)"
    }

    public static func validation(_ field: String, _ message: String) -> HeraldError {
        HeraldError(.validationFailed, message, field: field)
    }
}
