import Foundation
import Logging
import Phone
import Crypto
import Providers
import SMS

/// Provider callbacks: delivery receipts and inbound messages, each checked with the
/// provider's signature scheme (or the secret token in its callback URL) before anything
/// changes.
public struct WebhookService: Sendable {
    let directory: ProviderDirectory
    let messages: MessageStore
    let queue: QueueStore
    let store: WebhookStore
    let consent: ConsentStore
    let settings: SettingsService
    let events: EventService
    let replies: ReplyTexts
    let clock: any HeraldClock
    let logger: Logger
    /// Group commit of single receipts: concurrent webhooks are applied by one statement and
    /// one commit, each answered once its receipt is committed.
    let receiptIntake: GroupCommit<QueueStore.ReceiptUpdate, QueueStore.StatusChange?>

    /// Batches of receipts at the database at once.
    static let receiptWriters = DatabaseService.receiptConnections

    init(directory: ProviderDirectory, messages: MessageStore, queue: QueueStore, store: WebhookStore, consent: ConsentStore,
         settings: SettingsService, events: EventService, replies: ReplyTexts, clock: any HeraldClock, logger: Logger) {
        receiptIntake = GroupCommit(writers: Self.receiptWriters, conflictKeys: Self.conflictKeys) { updates in
            try await queue.applyReceipts(updates, now: clock.now)
        }
        self.directory = directory
        self.messages = messages
        self.queue = queue
        self.store = store
        self.consent = consent
        self.settings = settings
        self.events = events
        self.replies = replies
        self.clock = clock
        self.logger = logger
    }

    public enum Kind: String, Sendable { case status, inbound }

    /// Checks who sent the webhook. Throws `not_found` for an unknown provider and
    /// `invalid_signature` when the signature or token is missing or wrong.
    func authenticate(providerID: UUID, request: WebhookRequest, query: [(String, String)]) async throws -> (Provider, any ProviderAdapter) {
        guard let route = try await directory.webhookRoute(id: providerID), let adapter = route.adapter else {
            throw HeraldError(.notFound, "no provider with this id takes webhooks")
        }
        let provider = route.provider
        switch adapter.webhookAuthentication {
        case .signature:
            guard adapter.verifySignature(request, now: clock.now) else {
                logger.warning("webhook refused: bad signature", metadata: ["provider.id": "\(providerID)"])
                throw HeraldError(.invalidSignature, "the webhook signature is missing or wrong")
            }
        case .urlToken:
            let token = query.first { $0.0 == "token" }?.1 ?? ""
            guard ConstantTime.equals(token, provider.webhookToken) else {
                logger.warning("webhook refused: bad token", metadata: ["provider.id": "\(providerID)"])
                throw HeraldError(.invalidSignature, "the webhook token is missing or wrong")
            }
        }
        return (provider, adapter)
    }

    /// Takes an authenticated webhook once: a replay of one already taken (the same
    /// request, byte for byte) is acknowledged and changes nothing.
    private func once(_ kind: Kind, provider: Provider, adapter: any ProviderAdapter, request: WebhookRequest,
                      _ body: () async throws -> WebhookReply) async throws -> WebhookReply {
        let digest = Self.digest(kind, request)
        guard try await store.firstSighting(providerID: provider.id, digest: digest, now: clock.now) else {
            logger.info("webhook replay ignored", metadata: ["provider.id": "\(provider.id)", "webhook.kind": "\(kind.rawValue)"])
            return adapter.acknowledgement()
        }
        do {
            return try await body()
        } catch {
            // Not taken after all: let the provider's retry through.
            try? await store.forget(providerID: provider.id, digest: digest)
            throw error
        }
    }

    /// What identifies one webhook request for the replay guard.
    static func digest(_ kind: Kind, _ request: WebhookRequest) -> [UInt8] {
        var hasher = SHA256()
        for part in [kind.rawValue, request.method, request.url] {
            hasher.update(data: Array(part.utf8))
            hasher.update(data: [0])
        }
        hasher.update(data: request.body)
        return Array(hasher.finalize())
    }

    /// What two receipts of one batch must not share: the message (named by URL or by the
    /// provider's id) and the replay record.
    @Sendable static func conflictKeys(_ update: QueueStore.ReceiptUpdate) -> [String] {
        var keys = ["p \(update.providerID) \(update.receipt.providerMessageID)"]
        if let messageID = update.messageID { keys.append("m \(messageID)") }
        if let sighting = update.sighting { keys.append("s \(update.providerID) " + QueueStore.hex(sighting)) }
        return keys
    }

    /// `POST /webhooks/{provider}/status`.
    public func status(providerID: UUID, request: WebhookRequest, query: [(String, String)]) async throws -> WebhookReply {
        let (provider, adapter) = try await authenticate(providerID: providerID, request: request, query: query)
        let messageID = query.first { $0.0 == "m" }.flatMap { UUID(uuidString: $0.1) }
        // Plivo fetches what a voice call says from its answer URL (our status URL + kind=answer).
        if provider.type == .plivo, PlivoAdapter.isAnswerRequest(request) {
            guard let messageID, let message = try await messages.message(id: messageID), message.channel == .voice,
                  message.providerID == nil || message.providerID == provider.id
            else {
                throw HeraldError(.notFound, "no voice message for this call")
            }
            return WebhookReply(status: 200, contentType: "application/xml",
                                body: Array(PlivoAdapter.answerXML(text: message.body, locale: message.locale).utf8))
        }
        let receipts: [DeliveryReceipt]
        do { receipts = try adapter.receipts(request) }
        catch { throw HeraldError(.invalidWebhook, "the receipt cannot be read: \(error.message)") }
        if receipts.count == 1 {
            // The common case, group-committed: the replay record and the status move commit
            // together, with the other receipts that arrived meanwhile.
            let update = QueueStore.ReceiptUpdate(receipt: receipts[0], providerID: provider.id, messageID: messageID,
                                                  sighting: Self.digest(.status, request))
            if let change = try await receiptIntake.submit(update) {
                try await events.messagesChanged([change.id])
            }
            return adapter.acknowledgement()
        }
        return try await once(.status, provider: provider, adapter: adapter, request: request) {
            var changed: [UUID] = []
            for receipt in receipts {
                if let change = try await queue.applyReceipt(receipt, providerID: provider.id,
                                                             messageID: receipts.count == 1 ? messageID : nil, now: clock.now) {
                    changed.append(change.id)
                }
            }
            try await events.messagesChanged(changed)
            return adapter.acknowledgement()
        }
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
        return try await once(.inbound, provider: provider, adapter: adapter, request: request) {
            let current = try await settings.current()
            let keyword = current.keywordSet.classify(inbound.text)
            guard let inboundID = try await store.insertInbound(
                providerID: provider.id, providerMessageID: inbound.providerMessageID, from: sender, to: inbound.to,
                body: inbound.text, keyword: keyword?.rawValue)
            else { return adapter.acknowledgement() }
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
            measured: measured, now: clock.now)
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
