import Crypto
import Foundation
import Logging
import Phone
import Postgres
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
    let pool: PostgresPool
    let settings: SettingsService
    let templates: TemplateService
    let logger: Logger

    public init(store: MessageStore, pool: PostgresPool, settings: SettingsService, templates: TemplateService, logger: Logger) {
        self.store = store
        self.pool = pool
        self.settings = settings
        self.templates = templates
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
        if finalKind == .marketing {
            if try await isUnsubscribed(number.e164) {
                throw HeraldError(.recipientUnsubscribed, "the recipient has opted out of marketing messages", field: "to")
            }
            body = Self.withFooter(body, footer: current.marketingFooter, keywords: current.optOut.keywords)
        }
        guard body.count <= Self.maximumBodyCharacters else {
            throw HeraldError.validation(request.template == nil ? "body" : "template",
                                         "the message is \(body.count) characters; at most \(Self.maximumBodyCharacters) are allowed")
        }
        let new = NewMessage(to: number.e164, country: number.regionCode, from: request.from, body: body, channel: finalChannel,
                             kind: finalKind, locale: locale, templateID: templateID, apiKeyID: apiKeyID)
        return (new, MessageText(body))
    }

    /// Validates and queues one message.
    public func send(_ request: SendMessageRequest, apiKeyID: UUID?) async throws -> Message {
        let (new, text) = try await prepare(request, apiKeyID: apiKeyID)
        let message = try await store.insert(new, measured: text)
        logger.info("message queued", metadata: ["message.id": "\(message.id)", "message.kind": "\(new.kind.rawValue)",
                                                  "message.segments": "\(text.segments)"])
        return message
    }

    /// `send` under an `Idempotency-Key`: the same key and body within 24 hours return the
    /// first response (`encode` makes it), a different body is `idempotency_conflict`.
    public func send(
        _ request: SendMessageRequest, apiKeyID: UUID?, idempotencyKey: String, requestBody: [UInt8],
        encode: @Sendable (Message) throws -> Data
    ) async throws -> (status: Int, body: Data) {
        guard (1...255).contains(idempotencyKey.utf8.count), idempotencyKey.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
            throw HeraldError.validation("Idempotency-Key", "must be 1–255 visible ASCII characters")
        }
        let scope = "messages:" + (apiKeyID?.uuidString.lowercased() ?? "session")
        let hash = Array(SHA256.hash(data: requestBody))
        if let stored = try await IdempotencyStore(pool: pool).lookup(scope: scope, key: idempotencyKey) {
            guard stored.requestHash == hash else {
                throw HeraldError(.idempotencyConflict, "this Idempotency-Key was used with a different body", field: "Idempotency-Key")
            }
            return (stored.status, stored.body)
        }
        let (new, text) = try await prepare(request, apiKeyID: apiKeyID)
        return try await pool.withTransaction { connection in
            // Serialise concurrent requests with the same key; the loser sees the winner's row.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(scope + "\u{1F}" + idempotencyKey), 7231000003))")
            if let stored = try await IdempotencyStore.lookup(on: connection, scope: scope, key: idempotencyKey) {
                guard stored.requestHash == hash else {
                    throw HeraldError(.idempotencyConflict, "this Idempotency-Key was used with a different body", field: "Idempotency-Key")
                }
                return (stored.status, stored.body)
            }
            let message = try await store.insert(new, measured: text, on: connection)
            let body = try encode(message)
            try await IdempotencyStore.save(on: connection, scope: scope, key: idempotencyKey, requestHash: hash, status: 202, body: body)
            return (202, body)
        }
    }

    public func message(id: UUID) async throws -> Message {
        guard let message = try await store.message(id: id) else { throw HeraldError(.notFound, "no message with this id") }
        return message
    }

    public func messages(_ filter: MessageFilter, limit: Int, cursor: ListCursor?) async throws -> Page<Message> {
        try await store.messages(filter, limit: limit, after: cursor)
    }

    func isUnsubscribed(_ phone: String) async throws -> Bool {
        let rows = try await pool.query("SELECT 1 FROM contacts WHERE phone = \(phone) AND NOT subscribed")
        return !rows.isEmpty
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

/// Stored first responses of `Idempotency-Key` requests (24 hours).
struct IdempotencyStore {
    let pool: PostgresPool

    struct Stored { var requestHash: [UInt8]; var status: Int; var body: Data }

    func lookup(scope: String, key: String) async throws -> Stored? {
        try Self.decode(try await pool.query(Self.lookupQuery(scope: scope, key: key)))
    }

    static func lookup(on connection: PostgresConnection, scope: String, key: String) async throws -> Stored? {
        try decode(try await connection.query(lookupQuery(scope: scope, key: key)))
    }

    static func lookupQuery(scope: String, key: String) -> PostgresQuery {
        """
        SELECT request_hash, response_code, response_body::text FROM idempotency_keys
        WHERE scope = \(scope) AND key = \(key) AND created_at > now() - interval '24 hours'
        """
    }

    static func decode(_ rows: PostgresRows) throws -> Stored? {
        guard let row = rows.first else { return nil }
        let text: String = try row.decode(2)
        return Stored(requestHash: try row.decode(0), status: try row.decode(1), body: Data(text.utf8))
    }

    static func save(on connection: PostgresConnection, scope: String, key: String, requestHash: [UInt8], status: Int, body: Data) async throws {
        try await connection.query(
            """
            INSERT INTO idempotency_keys (scope, key, request_hash, response_code, response_body)
            VALUES (\(scope), \(key), \(requestHash), \(status), \(String(decoding: body, as: UTF8.self))::jsonb)
            ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, response_code = excluded.response_code,
                response_body = excluded.response_body, created_at = now()
            """)
    }
}
