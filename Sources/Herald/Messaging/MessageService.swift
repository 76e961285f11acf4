import Crypto
import Foundation
import Logging
import Phone
import Providers
import SMS

/// A phone number as the API receives it: E.164, or national with a `country` hint.
public struct PhoneNumberInput: Sendable {
    public var raw: String
    public var country: String?
    public init(_ raw: String, country: String? = nil) { self.raw = raw; self.country = country }

    public func parse(field: String) throws -> PhoneNumber {
        var region: String?
        if let country {
            region = country.uppercased()
            guard PhoneNumberParser.isValidRegion(region!) else {
                throw HeraldError.validation("country", "must be an ISO 3166 alpha-2 country code")
            }
        }
        do { return try PhoneNumberParser.parse(raw, defaultRegion: region) }
        catch { throw HeraldError(.invalidPhoneNumber, error.description, field: field) }
    }
}


/// `POST /v1/messages` as the domain sees it.
public struct SendMessageRequest: Sendable {
    public var to: String?
    public var country: String?
    public var from: String?
    public var body: String?
    public var template: String?
    public var variables: [String: JSONValue]?
    public var locale: String?
    public var channel: String?
    public var kind: String?
    public init(to: String? = nil, country: String? = nil, from: String? = nil, body: String? = nil, template: String? = nil,
                variables: [String: JSONValue]? = nil, locale: String? = nil, channel: String? = nil, kind: String? = nil) {
        self.to = to; self.country = country; self.from = from; self.body = body; self.template = template
        self.variables = variables; self.locale = locale; self.channel = channel; self.kind = kind
    }
}

/// Validates and queues messages; reads them back.
public struct MessageService: Sendable {
    /// Longest body accepted: ten concatenated GSM-7 parts are 1,530 characters; providers
    /// cap near 1,600 (Twilio) and carriers drop longer ones.
    public static let maximumBodyCharacters = 1600

    let store: MessageStore
    let intake: MessageIntake
    let outboxStore: OutboxStore
    let idempotency: IdempotencyStore
    let consent: ConsentStore
    let settings: SettingsService
    let templates: TemplateService
    let clock: any HeraldClock
    let logger: Logger

    init(store: MessageStore, intake: MessageIntake, outbox: OutboxStore, idempotency: IdempotencyStore, consent: ConsentStore, settings: SettingsService,
         templates: TemplateService, clock: any HeraldClock, logger: Logger) {
        self.store = store
        self.intake = intake
        self.outboxStore = outbox
        self.idempotency = idempotency
        self.consent = consent
        self.settings = settings
        self.templates = templates
        self.clock = clock
        self.logger = logger
    }

    /// Turns a request into a validated `NewMessage` (no side effects).
    public func prepare(_ request: SendMessageRequest, apiKeyID: UUID?) async throws -> (NewMessage, MessageText) {
        guard let rawTo = request.to else { throw HeraldError.validation("to", "is required") }
        let number = try PhoneNumberInput(rawTo, country: request.country).parse(field: "to")
        let current = try await settings.current()
        guard current.allows(country: number.regionCode) else {
            throw HeraldError(.countryNotAllowed, "messages to this country are not allowed by the settings", field: "to")
        }
        var channel: MessageChannel? = try request.channel.map { raw in
            guard let channel = MessageChannel(rawValue: raw) else { throw HeraldError.validation("channel", "must be sms or voice") }
            return channel
        }
        var kind: MessageKind? = try request.kind.map { raw in
            guard let kind = MessageKind(rawValue: raw) else { throw HeraldError.validation("kind", "must be transactional or marketing") }
            return kind
        }
        let locale = try request.locale.map { try Self.locale($0) }
        if let from = request.from {
            guard (1...20).contains(from.count), from.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == " ") }) else {
                throw HeraldError.validation("from", "must be a phone number or an alphanumeric sender of at most 20 characters")
            }
        }
        var body: String
        var templateID: UUID?
        switch (request.body, request.template) {
        case (nil, nil):
            throw HeraldError.validation("body", "is required unless a template is named")
        case (.some, .some):
            throw HeraldError.validation("template", "give either body or template, not both")
        case (let text?, nil):
            if request.variables != nil { throw HeraldError.validation("variables", "only apply to a template") }
            body = text
        case (nil, let name?):
            let rendered = try await templates.render(name: name, variables: request.variables ?? [:], locale: locale)
            body = rendered.text
            templateID = rendered.templateID
            channel = channel ?? MessageChannel(rawValue: rendered.channel.rawValue)
            kind = kind ?? MessageKind(rawValue: rendered.kind.rawValue)
        }
        let finalChannel = channel ?? .sms
        let finalKind = kind ?? .transactional
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw HeraldError.validation(request.template == nil ? "body" : "template", "the message text is empty")
        }
        if finalChannel == .sms && !number.isSMSCapable {
            throw HeraldError(.invalidPhoneNumber, "this number cannot receive SMS (it is a \(number.type.rawValue.replacingOccurrences(of: "_", with: " ")) number); use channel voice", field: "to")
        }
        var sendAfter: Date?
        if finalKind == .marketing {
            let standing = try await consent.marketingStanding(phone: number.e164)
            if standing.subscribed == false {
                throw HeraldError(.recipientUnsubscribed, "the recipient has opted out of marketing messages", field: "to")
            }
            body = Self.withFooter(body, footer: current.marketingFooter, keywords: current.optOut.keywords)
            // Quiet hours in the recipient's zone: their contact's, else their number's when it has
            // one, else UTC. Deferred messages wait in the queue until the window ends.
            let zone = CampaignTime.zone(contactTimezone: standing.timezone, phone: number.e164, fallback: TimeZone(identifier: "UTC")!)
            let now = clock.now
            let allowed = CampaignTime.outsideQuietHours(now, quiet: current.quietHours.map(QuietHours.init), zone: zone)
            if allowed > now { sendAfter = allowed }
        }
        // Counted in Unicode code points, not grapheme clusters: one "character" can carry
        // hundreds of combining marks, and providers and carriers count code points (or less).
        let codePoints = body.unicodeScalars.count
        guard codePoints <= Self.maximumBodyCharacters else {
            throw HeraldError.validation(request.template == nil ? "body" : "template",
                                         "the message is \(codePoints) characters (Unicode code points); at most \(Self.maximumBodyCharacters) are allowed")
        }
        let new = NewMessage(to: number.e164, country: number.regionCode, from: request.from, body: body, channel: finalChannel,
                             kind: finalKind, locale: locale, templateID: templateID, apiKeyID: apiKeyID, sendAfter: sendAfter)
        return (new, MessageText(body))
    }

    /// Validates and queues one message.
    public func send(_ request: SendMessageRequest, apiKeyID: UUID?) async throws -> Message {
        let (new, text) = try await prepare(request, apiKeyID: apiKeyID)
        let message = try await intake.insert(new, measured: text, now: clock.now)
        logQueued(message, text: text)
        return message
    }

    /// `send` under an `Idempotency-Key`: the same key and request within 24 hours return the
    /// first result (the message as it was queued), a different request is
    /// `idempotency_conflict`. `request` is the request's canonical form (the HTTP layer's
    /// JSON with sorted keys), so key order and spacing do not make a request different.
    public func send(
        _ request: SendMessageRequest, apiKeyID: UUID?, idempotencyKey: String, canonicalRequest: [UInt8]
    ) async throws -> Message {
        let keyed = try IdempotencyStore.Request(kind: "messages", key: idempotencyKey, apiKeyID: apiKeyID,
                                                 canonicalRequest: canonicalRequest)
        func replay(_ stored: IdempotencyStore.Stored) throws -> Message {
            try Self.snapshotDecoder.decode(Message.self, from: try keyed.replay(stored))
        }
        if let stored = try await idempotency.lookup(scope: keyed.scope, key: keyed.key, now: clock.now) {
            return try replay(stored)
        }
        let (new, text) = try await prepare(request, apiKeyID: apiKeyID)
        let now = clock.now
        let (stored, replayed) = try await idempotency.once(scope: keyed.scope, key: keyed.key, requestHash: keyed.hash, now: now) { connection in
            let message = try await store.insert(new, measured: text, now: now, on: connection)
            return try Self.snapshotEncoder.encode(message)
        }
        let message = try replay(stored)
        if !replayed {
            intake.onQueued()
            logQueued(message, text: text)
        }
        return message
    }

    /// The stored form of a first result: the domain value itself, not its HTTP shape.
    static let snapshotEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.timeIntervalSince1970)
        }
        return encoder
    }()

    static let snapshotDecoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            Date(timeIntervalSince1970: try decoder.singleValueContainer().decode(Double.self))
        }
        return decoder
    }()

    private func logQueued(_ message: Message, text: MessageText) {
        logger.info("message queued", metadata: ["message.id": "\(message.id)", "message.kind": "\(message.kind.rawValue)",
                                                  "message.segments": "\(text.segments)"])
    }

    public func message(id: UUID) async throws -> Message {
        guard let message = try await store.message(id: id) else { throw HeraldError(.notFound, "no message with this id") }
        return message
    }

    public func messages(_ filter: MessageFilter, limit: Int, cursor: ListCursor?) async throws -> Page<Message> {
        try await store.messages(filter, limit: limit, after: cursor)
    }

    /// What the outbox provider stored instead of sending, newest first.
    public func outbox(to: String?, limit: Int, cursor: ListCursor?) async throws -> Page<OutboxEntry> {
        try await outboxStore.entries(to: to, limit: limit, after: cursor)
    }

    /// Marketing bodies end with the opt-out footer unless they already tell how to opt out.
    static func withFooter(_ body: String, footer: String, keywords: [String]) -> String {
        let trimmedFooter = footer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmedFooter.isEmpty else { return body }
        let upper = body.uppercased()
        if upper.contains(trimmedFooter.uppercased()) { return body }
        let words = upper.split(whereSeparator: { !$0.isLetter })
        if keywords.contains(where: { keyword in words.contains { $0 == keyword.uppercased() } }) { return body }
        return body + "\n" + trimmedFooter
    }

    static func locale(_ raw: String) throws -> String {
        guard (2...35).contains(raw.count), raw.first?.isLetter == true,
              raw.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw HeraldError.validation("locale", "must be a language tag like en or de-AT") }
        return raw.replacingOccurrences(of: "_", with: "-")
    }
}
