import Foundation
import Providers
import SMS

/// A message as `GET /v1/messages/{id}` shows it.
public struct Message: Sendable, Equatable, Codable {
    public struct Failure: Sendable, Equatable, Codable {
        public var code: String
        public var message: String
        /// The provider's own code (`21211`, `EC_…`), when a provider gave one.
        public var providerCode: String?
    }

    public var id: UUID
    public var to: String
    public var from: String?
    public var body: String
    public var channel: MessageChannel
    public var kind: MessageKind
    public var status: MessageStatus
    public var providerID: UUID?
    /// The provider's name, or `outbox` when no provider is configured.
    public var provider: String?
    public var providerMessageID: String?
    public var attempts: Int
    public var error: Failure?
    public var campaignID: UUID?
    public var templateID: UUID?
    public var encoding: SMSEncoding
    public var segments: Int
    public var characters: Int
    public var locale: String?
    public var scheduledAt: Date
    public var createdAt: Date
    public var sentAt: Date?
    public var deliveredAt: Date?
}

/// A verification code travelling with its message: sealed for the dispatcher, with the time
/// after which the message is canceled rather than sent.
public struct CodeAttachment: Sendable {
    public var verificationID: UUID
    public var sealedCode: [UInt8]
    public var expiresAt: Date
}

/// A validated message ready to be queued.
public struct NewMessage: Sendable {
    /// Chosen by the caller when something must name the message before it is queued (a
    /// sealed code is bound to its message's id); else the database picks one.
    public var id: UUID?
    public var to: String
    public var country: String?
    public var from: String?
    public var body: String
    public var channel: MessageChannel
    public var kind: MessageKind
    public var locale: String?
    public var templateID: UUID?
    public var campaignID: UUID?
    public var contactID: UUID?
    public var apiKeyID: UUID?
    public var pinnedProviderID: UUID?
    public var sendAfter: Date?
    /// The code of a code message (its body holds ``CodeText`` markers).
    public var code: CodeAttachment?

    public init(to: String, country: String?, from: String? = nil, body: String, channel: MessageChannel, kind: MessageKind,
                locale: String? = nil, templateID: UUID? = nil, campaignID: UUID? = nil, contactID: UUID? = nil,
                apiKeyID: UUID? = nil, pinnedProviderID: UUID? = nil, sendAfter: Date? = nil) {
        self.to = to; self.country = country; self.from = from; self.body = body; self.channel = channel; self.kind = kind
        self.locale = locale; self.templateID = templateID; self.campaignID = campaignID; self.contactID = contactID
        self.apiKeyID = apiKeyID; self.pinnedProviderID = pinnedProviderID; self.sendAfter = sendAfter
    }

    /// Its place in the queue (lower goes first): a campaign's messages, whatever their kind,
    /// never go ahead of one-off transactional messages and codes.
    public var priority: Int16 { campaignID == nil ? kind.priority : MessageKind.marketing.priority }
}

/// Filters of `GET /v1/messages`.
public struct MessageFilter: Sendable {
    public var campaignID: UUID?
    public var status: MessageStatus?
    public var to: String?
    public init(campaignID: UUID? = nil, status: MessageStatus? = nil, to: String? = nil) {
        self.campaignID = campaignID; self.status = status; self.to = to
    }
}
