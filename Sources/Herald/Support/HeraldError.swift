/// A domain error: what went wrong in Herald's own terms.
///
/// The domain never decides HTTP statuses; `HeraldHTTP` maps each ``Code`` to one at the edge.
/// `message` is written for the person reading it and never contains phone numbers, codes,
/// secrets or SQL; `field` is a JSON path into the request when one input is at fault.
public struct HeraldError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every code the domain can raise. An enum, so the HTTP layer's mapping to statuses is
    /// an exhaustive switch: a new code cannot silently become a 400.
    public enum Code: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        public var description: String { rawValue }

        /// Input that is well-formed JSON but breaks a rule (wrong type, missing, out of range).
        case validationFailed = "validation_failed"
        /// The resource does not exist (or the caller may not know it exists).
        case notFound = "not_found"
        /// No or bad credentials.
        case unauthorized = "unauthorized"
        /// Credentials are fine but lack the scope or role.
        case forbidden = "forbidden"
        /// E-mail and password do not match an active user.
        case invalidCredentials = "invalid_credentials"
        /// Too many attempts; `retryAfter` says when to try again.
        case rateLimited = "rate_limited"
        /// A unique thing (an e-mail, a name) already exists.
        case alreadyExists = "already_exists"
        /// The CSRF token of a cookie session is missing or wrong.
        case csrfFailed = "csrf_failed"
        /// The database cannot be reached.
        case databaseUnavailable = "database_unavailable"
        /// Too much expensive work (password hashing) is already queued; `retryAfter` says when
        /// to try again. The server is busy, not the caller at fault.
        case serverBusy = "server_busy"
        /// A dashboard user who must choose a new password (the generated first admin, or after
        /// `herald users reset-password`) may only change it, look at itself and sign out.
        case passwordChangeRequired = "password_change_required"
        /// The current password given to change it is wrong (`field` is `current_password`).
        case invalidCurrentPassword = "invalid_current_password"
        /// The change would leave no enabled admin: disable, delete or demote another way.
        case lastAdmin = "last_admin"

        // Messaging
        /// A phone number that does not parse or cannot receive the channel.
        case invalidPhoneNumber = "invalid_phone_number"
        /// The destination's country is not in `allowed_countries`.
        case countryNotAllowed = "country_not_allowed"
        /// A marketing message to someone who opted out.
        case recipientUnsubscribed = "recipient_unsubscribed"
        /// The same `Idempotency-Key` came with a different body.
        case idempotencyConflict = "idempotency_conflict"
        /// Mustache that does not parse; the message gives the position.
        case invalidTemplate = "invalid_template"
        /// A named template that does not exist.
        case templateNotFound = "template_not_found"
        /// A template variable without a value; `field` names it.
        case missingVariable = "missing_variable"
        /// Rendering a template with these variables would take more work or time than any message
        /// needs (sections repeating over lists multiply); refused rather than holding a thread.
        case templateTooComplex = "template_too_complex"
        /// A provider webhook whose signature (or URL token) is missing or wrong.
        case invalidSignature = "invalid_signature"
        /// A provider webhook body that cannot be understood.
        case invalidWebhook = "invalid_webhook"
        /// A provider refused or failed a test submission.
        case providerError = "provider_error"
        /// A PATCH that changes where a provider's requests go (a URL or host key of `config`)
        /// without sending every stored secret again; `field` names a missing one.
        case secretsRequired = "secrets_required"
        /// A provider whose stored secrets cannot be decrypted (`HERALD_SECRET` changed): nothing
        /// sends or takes webhooks for it until an admin re-enters them.
        case secretsUnreadable = "secrets_unreadable"

        // Verification codes
        /// No verification matches the id, or the number and purpose.
        case verificationNotFound = "verification_not_found"
        /// The channel cannot reach this kind of number (SMS to a fixed line: use voice).
        case numberTypeNotSupported = "number_type_not_supported"
        /// A resend before the cooldown ended; `retryAfter` says when.
        case resendTooSoon = "resend_too_soon"
        /// The verification sent as many codes as it may.
        case maxSendsReached = "max_sends_reached"
        /// The fraud guard blocked this number range for a while; `retryAfter` says how long.
        case suspectedFraud = "suspected_fraud"
        /// A segment rule that cannot be read; `field` points into the rule (`rule.all[1].op`).
        case invalidRule = "invalid_rule"
        /// A request body (a CSV import) is larger than allowed.
        case payloadTooLarge = "payload_too_large"
        /// The campaign's status does not allow this (pausing a draft, editing a sending campaign).
        case invalidState = "invalid_state"
        /// Something still uses it (a template or segment of a campaign that has not finished).
        case inUse = "in_use"
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
