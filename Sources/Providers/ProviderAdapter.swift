import Foundation
import SMS

/// The provider kinds Herald speaks to. The raw value is the `type` in the API.
public enum ProviderType: String, Sendable, CaseIterable, Codable {
    case twilio, vonage, plivo, sinch, infobip, telnyx, http, outbox
}

/// How a provider's webhooks prove they come from the provider.
public enum WebhookAuthentication: Sendable, Equatable {
    /// The provider signs its callbacks; `verifySignature` checks them.
    case signature
    /// No signing scheme (or none configured): Herald puts a secret token in the callback URL
    /// it hands the provider and checks it on arrival.
    case urlToken
}

/// One message as an adapter submits it. Rendered, routed and measured already.
public struct OutgoingMessage: Sendable, Equatable {
    public typealias Channel = MessageChannel

    /// Herald's message id (some providers take a client reference).
    public var id: UUID
    /// Destination in E.164 (`+4915112345678`).
    public var to: String
    /// Sender override; nil means the provider's configured `from`.
    public var from: String?
    /// The final text: the SMS body, or what the voice call speaks.
    public var text: String
    public var channel: Channel
    /// GSM-7 or UCS-2 as `MessageText` measured it (some APIs want to be told).
    public var unicode: Bool
    /// BCP 47 locale for voice text-to-speech (`en-US`, `de-DE`); nil means the provider default.
    public var locale: String?
    /// Absolute URL the provider must post delivery receipts (or call status) to.
    public var statusCallbackURL: String

    public init(id: UUID, to: String, from: String? = nil, text: String, channel: Channel = .sms,
                unicode: Bool = false, locale: String? = nil, statusCallbackURL: String) {
        self.id = id; self.to = to; self.from = from; self.text = text; self.channel = channel
        self.unicode = unicode; self.locale = locale; self.statusCallbackURL = statusCallbackURL
    }
}

/// An HTTP request described as data: the adapter builds it, Herald's `Curl` client sends it.
public struct WireRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    /// In order; names as the provider documents them.
    public var headers: [WireHeader]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [WireHeader] = [], body: [UInt8] = []) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}

public struct WireHeader: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// A provider's HTTP answer, as data.
public struct WireResponse: Sendable, Equatable {
    public var status: Int
    /// Names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }
}

/// Why a provider refused a message, with the provider's own code kept.
public struct ProviderFailure: Sendable, Equatable, Error {
    public enum Category: String, Sendable, Codable {
        /// The number is invalid, unreachable, landline-only, or not a mobile number.
        case invalidNumber = "invalid_number"
        /// Blocked, blacklisted, or the recipient opted out at the provider/carrier.
        case blocked
        /// The recipient unsubscribed at the provider (e.g. Twilio 21610).
        case unsubscribed
        /// Our credentials or account are wrong (bad auth, suspended, no funds, bad sender).
        case account
        /// The request itself was refused as malformed (a bug or an unsupported body).
        case rejected
        /// Throttled (429 or a provider's rate code): retry later, maybe elsewhere.
        case throttled
        /// A server error, timeout or network failure: retry.
        case unavailable
    }

    public var category: Category
    /// The provider's code as it sent it (`21211`, `"3"`, `EC_INVALID_DESTINATION_ADDRESS`, `"429"`).
    public var code: String
    /// The provider's explanation, trimmed; never contains our secrets.
    public var message: String

    public init(_ category: Category, code: String, message: String) {
        self.category = category; self.code = code; self.message = message
    }

    /// Whether trying again (later, or with another provider) can help.
    public var isTransient: Bool { category == .throttled || category == .unavailable }
}

/// What an adapter concluded from the provider's answer to a submission.
public enum SubmitOutcome: Sendable, Equatable {
    /// Accepted: the provider's id for the message (used to match receipts).
    case accepted(providerMessageID: String)
    /// Not accepted. Transient failures carry the provider's `Retry-After` when it sent one.
    case failed(ProviderFailure, retryAfter: Duration?)
}

/// Herald's view of a delivery receipt's status.
public enum ReceiptStatus: String, Sendable, Codable {
    /// Still with the provider or carrier (queued/accepted/sending): no change to a sent message.
    case pending
    /// Handed to the carrier.
    case sent
    /// Reached the handset.
    case delivered
    /// The carrier could not deliver it.
    case undelivered
    /// The provider could not send it.
    case failed
}

/// A delivery receipt (or call status) parsed from a provider webhook.
public struct DeliveryReceipt: Sendable, Equatable {
    public var providerMessageID: String
    public var status: ReceiptStatus
    /// The provider's status word as sent (`delivered`, `DELIVRD`, `EXPIRED` …).
    public var providerStatus: String
    /// The provider's error code when it gave one.
    public var errorCode: String?
    public var errorMessage: String?
    public var occurredAt: Date?

    public init(providerMessageID: String, status: ReceiptStatus, providerStatus: String,
                errorCode: String? = nil, errorMessage: String? = nil, occurredAt: Date? = nil) {
        self.providerMessageID = providerMessageID; self.status = status; self.providerStatus = providerStatus
        self.errorCode = errorCode; self.errorMessage = errorMessage; self.occurredAt = occurredAt
    }
}

/// A message a person sent to one of our numbers.
public struct InboundMessage: Sendable, Equatable {
    public var providerMessageID: String?
    /// The sender, E.164 where the provider gives it so (some omit the `+`).
    public var from: String
    /// Our number or sender id that received it.
    public var to: String
    public var text: String
    public init(providerMessageID: String?, from: String, to: String, text: String) {
        self.providerMessageID = providerMessageID; self.from = from; self.to = to; self.text = text
    }
}

/// A webhook call as it arrived at Herald.
public struct WebhookRequest: Sendable, Equatable {
    public var method: String
    /// The full public URL the provider called, query included, exactly as the provider saw it
    /// (`HERALD_PUBLIC_URL` + path + query). Twilio and Plivo sign it.
    public var url: String
    /// Names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(method: String, url: String, headers: [String: String], body: [UInt8]) {
        self.method = method
        self.url = url
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first })
        self.body = body
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// A webhook that could not be understood.
public struct WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A webhook acknowledgement as the provider expects it.
public struct WebhookReply: Sendable, Equatable {
    public var status: Int
    public var contentType: String?
    public var body: [UInt8]
    public init(status: Int = 200, contentType: String? = nil, body: [UInt8] = []) {
        self.status = status; self.contentType = contentType; self.body = body
    }
    public static let empty = WebhookReply(status: 200)
}

/// One provider's wire format: pure functions from Herald's values to the provider's HTTP
/// requests, and from the provider's answers and webhooks back. No I/O here: Herald sends
/// the `WireRequest`s through its `Curl` client, which keeps adapters testable byte for byte.
public protocol ProviderAdapter: Sendable {
    var type: ProviderType { get }
    var webhookAuthentication: WebhookAuthentication { get }

    /// The request that submits an SMS.
    func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest
    /// The request that places a voice call speaking `message.text`; `.rejected` failure with
    /// code `unsupported_channel` where the provider (or this configuration) has no voice API.
    func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest
    /// What the provider's answer to a submission means.
    func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome
    /// What the provider's answer to the submission of `message` means. Herald calls this one:
    /// an adapter whose provider may answer without an id (the configurable `http` type) falls
    /// back to `message.id`. The default forwards to `interpret(_:channel:)`.
    func interpret(_ response: WireResponse, for message: OutgoingMessage) -> SubmitOutcome

    /// Whether the webhook carries a valid signature from this provider (only called when
    /// `webhookAuthentication == .signature`). `now` bounds replay windows where the scheme
    /// has a timestamp.
    func verifySignature(_ request: WebhookRequest, now: Date) -> Bool
    /// Delivery receipts / call status updates in a status webhook.
    func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt]
    /// The inbound message in an inbound webhook.
    func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage
    /// The body to answer a webhook with (Twilio wants TwiML, most want an empty 200).
    func acknowledgement() -> WebhookReply
}

extension ProviderAdapter {
    public func acknowledgement() -> WebhookReply { .empty }

    public func interpret(_ response: WireResponse, for message: OutgoingMessage) -> SubmitOutcome {
        interpret(response, channel: message.channel)
    }
}
