import Foundation
import SMS

/// Why an app verifies a number; each purpose has its own texts and its own Verify service.
public enum VerificationPurpose: String, Sendable, Codable, CaseIterable {
    case registration, login
    case accountChange = "account_change"
    case passwordReset = "password_reset"
    case payment
    case abnormalLogin = "abnormal_login"
}

/// Where a verification stands (API.md). Only `pending` moves; the others are final.
public enum VerificationStatus: String, Sendable, Codable, CaseIterable {
    case pending, approved, canceled, expired
    case maxAttemptsReached = "max_attempts_reached"
}

/// What a payment code is bound to (PSD2 dynamic linking): the code is good only for this
/// amount, currency and payee.
public struct PaymentDetails: Sendable, Equatable, Codable {
    /// As given (validated): `12.50`.
    public var amount: String
    /// ISO 4217, upper case.
    public var currency: String
    public var payee: String

    public init(amount: String, currency: String, payee: String) {
        self.amount = amount; self.currency = currency; self.payee = payee
    }
}

/// A verification as the API shows it. The code is never part of it.
public struct Verification: Sendable, Equatable, Codable {
    public var id: UUID
    public var to: String
    public var country: String?
    public var channel: MessageChannel
    public var purpose: VerificationPurpose
    public var status: VerificationStatus
    public var locale: String
    public var codeLength: Int
    public var expiresAt: Date
    public var sendCount: Int
    public var maxSends: Int
    public var nextSendAt: Date
    public var checks: Int
    public var maxChecks: Int
    public var payment: PaymentDetails?
    /// A test number from the settings: its fixed code was never sent anywhere.
    public var test: Bool
    /// The message carrying the latest code (nil for test numbers).
    public var messageID: UUID?
    /// What became of that message, when it failed to arrive (`undelivered`, `failed`, `canceled`).
    public var deliveryStatus: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var approvedAt: Date?

    public var attemptsLeft: Int { max(0, maxChecks - checks) }
}

/// `POST /v1/verifications` as the domain sees it (everything optional: the service validates).
public struct StartVerificationRequest: Sendable {
    public var to: String?
    public var country: String?
    public var channel: String?
    public var purpose: String?
    public var locale: String?
    public var codeLength: Int?
    public var clientIP: String?
    public var payment: PaymentInput?

    public init(to: String? = nil, country: String? = nil, channel: String? = nil, purpose: String? = nil, locale: String? = nil,
                codeLength: Int? = nil, clientIP: String? = nil, payment: PaymentInput? = nil) {
        self.to = to; self.country = country; self.channel = channel; self.purpose = purpose; self.locale = locale
        self.codeLength = codeLength; self.clientIP = clientIP; self.payment = payment
    }
}

/// A `payment` object as received.
public struct PaymentInput: Sendable, Equatable {
    public var amount: String?
    public var currency: String?
    public var payee: String?
    public init(amount: String? = nil, currency: String? = nil, payee: String? = nil) {
        self.amount = amount; self.currency = currency; self.payee = payee
    }
}

/// `POST /v1/verifications/check`: by id, or by number and purpose.
public struct CheckVerificationRequest: Sendable {
    public var id: String?
    public var to: String?
    public var country: String?
    public var purpose: String?
    public var code: String?
    public var payment: PaymentInput?

    public init(id: String? = nil, to: String? = nil, country: String? = nil, purpose: String? = nil, code: String? = nil,
                payment: PaymentInput? = nil) {
        self.id = id; self.to = to; self.country = country; self.purpose = purpose; self.code = code; self.payment = payment
    }
}

/// What a check decided.
public struct VerificationCheckResult: Sendable, Equatable, Codable {
    public var id: UUID
    public var status: VerificationStatus
    public var valid: Bool
    public var attemptsLeft: Int
}

/// Filters of `GET /v1/verifications`.
public struct VerificationFilter: Sendable {
    public var to: String?
    public var status: VerificationStatus?
    public var purpose: VerificationPurpose?
    public var channel: MessageChannel?
    public init(to: String? = nil, status: VerificationStatus? = nil, purpose: VerificationPurpose? = nil, channel: MessageChannel? = nil) {
        self.to = to; self.status = status; self.purpose = purpose; self.channel = channel
    }
}

/// Whether `create` made a new verification or resent the pending one.
public enum VerificationStart: Sendable, Equatable {
    case created(Verification)
    case resent(Verification)

    public var verification: Verification {
        switch self {
        case .created(let v), .resent(let v): v
        }
    }
}
