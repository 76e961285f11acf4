import Foundation
import Logging
import Phone
import Postgres
import Providers
import SMS
import Synchronization

/// Provider callbacks: delivery receipts and inbound messages, each checked with the
/// provider's signature scheme (or the secret token in its callback URL) before anything
/// changes.
public struct WebhookService: Sendable {
    let providers: ProviderStore
    let messages: MessageStore
    let consent: ConsentStore
    let settings: SettingsService
    let events: EventService
    let replies: ReplyTexts
    let pool: PostgresPool
    let logger: Logger
    /// Providers with their adapters for webhook checks, kept two seconds: receipts arrive at
    /// the sending rate, and each would otherwise cost a query and a decryption.
    let cache = WebhookProviderCache()

    public init(providers: ProviderStore, messages: MessageStore, consent: ConsentStore, settings: SettingsService,
                events: EventService, replies: ReplyTexts, pool: PostgresPool, logger: Logger) {
        self.providers = providers
        self.messages = messages
        self.consent = consent
        self.settings = settings
        self.events = events
        self.replies = replies
        self.pool = pool
        self.logger = logger
    }

    public enum Kind: String, Sendable { case status, inbound }

    /// Checks who sent the webhook. Throws `not_found` for an unknown provider and
    /// `invalid_signature` when the signature or token is missing or wrong.
    func authenticate(providerID: UUID, request: WebhookRequest, query: [(String, String)]) async throws -> (Provider, any ProviderAdapter) {
        let provider: Provider
        let adapter: any ProviderAdapter
        if let cached = cache.get(providerID) {
            (provider, adapter) = cached
        } else {
            guard let loaded = try await providers.provider(id: providerID), loaded.type != .outbox else {
                throw HeraldError(.notFound, "no provider with this id takes webhooks")
            }
            do { adapter = try ProviderAdapters.make(type: loaded.type, config: loaded.config) }
            catch { throw HeraldError(.invalidSignature, "this provider's configuration cannot check webhooks") }
            provider = loaded
            cache.put(provider, adapter)
        }
        switch adapter.webhookAuthentication {
        case .signature:
            guard adapter.verifySignature(request, now: Date()) else {
                logger.warning("webhook refused: bad signature", metadata: ["provider.id": "\(providerID)"])
                throw HeraldError(.invalidSignature, "the webhook signature is missing or wrong")
            }
        case .urlToken:
            let token = query.first { $0.0 == "token" }?.1 ?? ""
            guard ConstantTime.equals(Array(token.utf8), Array(provider.webhookToken.utf8)) else {
                logger.warning("webhook refused: bad token", metadata: ["provider.id": "\(providerID)"])
                throw HeraldError(.invalidSignature, "the webhook token is missing or wrong")
            }
        }
        return (provider, adapter)
    }

    /// `POST /webhooks/{provider}/status`.
    public func status(providerID: UUID, request: WebhookRequest, query: [(String, String)]) async throws -> WebhookReply {
        let (provider, adapter) = try await authenticate(providerID: providerID, request: request, query: query)
        let messageID = query.first { $0.0 == "m" }.flatMap { UUID(uuidString: $0.1) }
        // Plivo fetches what a voice call says from its answer URL (our status URL + kind=answer).
        if provider.type == .plivo, PlivoAdapter.isAnswerRequest(request) {
            guard let messageID, let message = try await messages.message(id: messageID), message.channel == .voice else {
                throw HeraldError(.notFound, "no voice message for this call")
            }
            return WebhookReply(status: 200, contentType: "application/xml",
                                body: Array(PlivoAdapter.answerXML(text: message.body, locale: message.locale).utf8))
        }
        let receipts: [DeliveryReceipt]
        do { receipts = try adapter.receipts(request) }
        catch { throw HeraldError(.invalidWebhook, "the receipt cannot be read: \(error.message)") }
        var changed: [UUID] = []
        for receipt in receipts {
            if let change = try await messages.applyReceipt(receipt, providerID: provider.id, messageID: receipts.count == 1 ? messageID : nil) {
                changed.append(change.id)
            }
        }
        try await events.messagesChanged(changed)
        return adapter.acknowledgement()
    }

    /// `POST /webhooks/{provider}/inbound`: stores the message; opt-out words unsubscribe the
    /// sender, opt-in words resubscribe, help words get the help reply.
    public func inbound(providerID: UUID, request: WebhookRequest, query: [(String, String)]) async throws -> WebhookReply {
        let (provider, adapter) = try await authenticate(providerID: providerID, request: request, query: query)
        let inbound: InboundMessage
        do { inbound = try adapter.inbound(request) }
        catch { throw HeraldError(.invalidWebhook, "the inbound message cannot be read: \(error.message)") }
        let sender: String
        do {
            let raw = inbound.from.hasPrefix("+") ? inbound.from : "+" + inbound.from
            sender = try PhoneNumberParser.parse(raw).e164
        } catch {
            throw HeraldError(.invalidWebhook, "the sender is not a phone number")
        }
        guard inbound.text.utf8.count <= 10_000 else { throw HeraldError(.invalidWebhook, "the inbound message is too long") }
        let current = try await settings.current()
        let keyword = current.keywordSet.classify(inbound.text)
        let rows = try await pool.query(
            """
            INSERT INTO inbound_messages (provider_id, provider_message_id, from_number, to_number, body, keyword)
            VALUES (\(provider.id), \(inbound.providerMessageID), \(sender), \(inbound.to), \(inbound.text), \(keyword?.rawValue))
            ON CONFLICT (provider_id, provider_message_id) WHERE provider_message_id IS NOT NULL DO NOTHING
            RETURNING id
            """)
        // A provider retrying the same webhook must not unsubscribe or reply twice.
        guard let row = rows.first else { return adapter.acknowledgement() }
        let inboundID: UUID = try row.decode(0)
        logger.info("inbound message", metadata: ["provider.id": "\(provider.id)", "inbound.keyword": "\(keyword?.rawValue ?? "none")"])
        switch keyword {
        case .optOut?:
            try await consent.record(.init(phone: sender, subscribe: false, source: "inbound_keyword", text: inbound.text,
                                           messageID: inboundID, providerID: provider.id))
            try await reply(current.optOut.reply, kind: "opt_out", to: sender, from: inbound.to, provider: provider, settings: current)
        case .optIn?:
            try await consent.record(.init(phone: sender, subscribe: true, source: "inbound_keyword", text: inbound.text,
                                           messageID: inboundID, providerID: provider.id))
            try await reply(current.optIn.reply, kind: "opt_in", to: sender, from: inbound.to, provider: provider, settings: current)
        case .help?:
            try await reply(current.help.reply, kind: "help", to: sender, from: inbound.to, provider: provider, settings: current)
        case nil:
            break
        }
        return adapter.acknowledgement()
    }

    /// Queues a transactional reply from the number that was texted, through the same provider.
    private func reply(_ configured: String, kind: String, to: String, from: String, provider: Provider, settings: Settings) async throws {
        let text = configured.isEmpty ? replies.text(kind, brand: settings.brand) : configured
        guard let text, !text.isEmpty else { return }
        let measured = MessageText(text)
        let sender = from.isEmpty ? nil : (from.first == "+" || from.allSatisfy(\.isNumber) ? (from.first == "+" ? from : "+" + from) : from)
        _ = try await messages.insert(
            NewMessage(to: to, country: (try? PhoneNumberParser.parse(to))?.regionCode, from: sender, body: text, channel: .sms,
                       kind: .transactional, pinnedProviderID: provider.id),
            measured: measured)
    }
}

/// The default keyword replies, from `templates/replies/<kind>.<locale>.txt`; `{{brand}}`
/// becomes the brand setting.
public struct ReplyTexts: Sendable {
    let texts: [String: String]

    public init(directory: String) {
        var texts: [String: String] = [:]
        for kind in ["opt_out", "opt_in", "help"] {
            if let text = try? String(contentsOfFile: "\(directory)/\(kind).en.txt", encoding: .utf8) {
                texts[kind] = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        self.texts = texts
    }

    public func text(_ kind: String, brand: String) -> String? {
        texts[kind]?.replacingOccurrences(of: "{{brand}}", with: brand)
    }
}

/// A short-lived cache of providers by id for webhook checks (changes show within `maximumAge`).
final class WebhookProviderCache: Sendable {
    private struct Entry { var provider: Provider; var adapter: any ProviderAdapter; var loadedAt: ContinuousClock.Instant }
    private let entries = Mutex<[UUID: Entry]>([:])
    let maximumAge: Duration = .seconds(2)

    func get(_ id: UUID) -> (Provider, any ProviderAdapter)? {
        entries.withLock { entries in
            guard let entry = entries[id], ContinuousClock.now - entry.loadedAt < maximumAge else { return nil }
            return (entry.provider, entry.adapter)
        }
    }

    func put(_ provider: Provider, _ adapter: any ProviderAdapter) {
        entries.withLock { entries in
            if entries.count > 1000 { entries.removeAll() }
            entries[provider.id] = Entry(provider: provider, adapter: adapter, loadedAt: .now)
        }
    }
}
