import Foundation
import Logging
import Phone
import Providers
import SMS

/// Providers as data: validated, secrets sealed, routed by country and priority.
public struct ProviderService: Sendable {
    let store: ProviderStore
    public let directory: ProviderDirectory
    let client: ProviderClient
    let callbacks: CallbackURLs
    /// Where provider URLs may point (no metadata or link-local; private only when allowed).
    let urlPolicy: OutboundURLPolicy
    let logger: Logger

    public init(store: ProviderStore, directory: ProviderDirectory, client: ProviderClient, callbacks: CallbackURLs,
                urlPolicy: OutboundURLPolicy, logger: Logger) {
        self.store = store
        self.directory = directory
        self.client = client
        self.callbacks = callbacks
        self.urlPolicy = urlPolicy
        self.logger = logger
    }

    public func list() async throws -> [Provider] { try await store.all() }

    /// One provider as stored, broken or not (its `state` says which).
    public func provider(id: UUID) async throws -> Provider {
        guard let provider = try await store.stored(id: id) else { throw HeraldError(.notFound, "no provider with this id") }
        return provider
    }

    public func create(_ input: ProviderInput) async throws -> Provider {
        guard let rawType = input.type else { throw HeraldError.validation("type", "is required") }
        guard let type = ProviderType(rawValue: rawType) else {
            throw HeraldError.validation("type", "must be one of \(ProviderType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let rawName = input.name else { throw HeraldError.validation("name", "is required") }
        var config: [String: JSONValue] = [:]
        for (key, value) in input.config ?? [:] where value != .null { config[key] = value }
        let provider = Provider(
            id: UUID(), name: try Self.name(rawName), type: type, config: try checkedDestinations(Self.config(config, type: type), type: type),
            priority: try Self.priority(input.priority ?? 10), countries: try Self.countries(input.countries ?? []),
            ratePerSecond: try Self.rate(input.ratePerSecond ?? nil), enabled: input.enabled ?? true,
            webhookToken: Tokens.base62(length: 32), createdAt: Date(), updatedAt: Date())
        let created = try await store.insert(provider)
        directory.invalidate()
        logger.notice("provider created", metadata: ["provider.id": "\(created.id)", "provider.type": "\(type.rawValue)"])
        return created
    }

    /// PATCH: given fields replace; `config` merges key by key (`null` removes a key; a secret
    /// sent as `********` keeps the stored value, so a form can send back what GET showed).
    /// Secrets stay write-only: see `patchedConfig`. Nothing is written when a rule refuses.
    public func update(id: UUID, _ input: ProviderInput) async throws -> Provider {
        var provider = try await self.provider(id: id)
        if let type = input.type, type != provider.type.rawValue {
            throw HeraldError.validation("type", "cannot be changed; create a new provider instead")
        }
        if let name = input.name { provider.name = try Self.name(name) }
        if let changes = input.config {
            let (values, repaired) = try Self.patchedConfig(changes, of: provider)
            provider.config = try checkedDestinations(Self.config(values, type: provider.type), type: provider.type)
            if repaired { provider.state = .ok }
        }
        if let priority = input.priority { provider.priority = try Self.priority(priority) }
        if let countries = input.countries { provider.countries = try Self.countries(countries) }
        if let rate = input.ratePerSecond { provider.ratePerSecond = try Self.rate(rate) }
        if let enabled = input.enabled { provider.enabled = enabled }
        guard let updated = try await store.update(provider) else { throw HeraldError(.notFound, "no provider with this id") }
        directory.invalidate()
        logger.notice("provider updated", metadata: ["provider.id": "\(id)"])
        return updated
    }

    /// `config` after a PATCH's `changes`, and whether they repair a broken provider. The rules
    /// that keep secrets write-only (an admin who can edit a provider must not be able to read
    /// its secrets by pointing it elsewhere and sending a test):
    /// - changing a key that decides where requests go (`Provider.destinationKeys`: `url`,
    ///   `base_url`, `voice_base_url`) needs every stored secret in the same PATCH, as a real
    ///   value (`********` keeps, so it does not count) or `null` (removed, so nothing follows);
    ///   otherwise 400 `secrets_required` naming the first missing one;
    /// - a broken provider's secrets cannot be kept, so its `config` changes only together with
    ///   its secrets again, which repairs it: the old sealed secrets are replaced by those sent.
    static func patchedConfig(_ changes: [String: JSONValue], of provider: Provider) throws -> (values: [String: JSONValue], repaired: Bool) {
        let secrets = ProviderConfigSpec.of(provider.type).secrets
        var values = provider.config.values
        var given: Set<String> = []
        var removed: Set<String> = []
        for (key, value) in changes.sorted(by: { $0.key < $1.key }) {
            if value == .null {
                values[key] = nil
                if secrets.contains(key) { removed.insert(key) }
            } else if value == Provider.redacted, secrets.contains(key) {
                if provider.isBroken {
                    throw HeraldError(.secretsRequired,
                        "this provider's stored secrets cannot be decrypted, so ******** cannot keep config.\(key): send its value again",
                        field: "config.\(key)")
                }
            } else {
                values[key] = value
                if secrets.contains(key) { given.insert(key) }
            }
        }
        if provider.isBroken {
            guard !given.isEmpty else {
                // Name the secret the adapter misses first, else the type's first secret.
                var field = secrets.sorted().first ?? "type"
                if provider.type != .outbox {
                    do { _ = try ProviderAdapters.make(type: provider.type, config: ProviderConfig(values)) }
                    catch where secrets.contains(error.key) { field = error.key }
                    catch {}  // not a secret: nothing better to name than the first one
                }
                throw HeraldError(.secretsRequired,
                    "this provider's stored secrets cannot be decrypted (HERALD_SECRET changed): send its secrets again to change its config; that repairs it",
                    field: "config.\(field)")
            }
            return (values, true)
        }
        let moved = Provider.destinationKeys(of: provider.type).sorted().filter { provider.config.values[$0] != values[$0] }
        if let destination = moved.first {
            let stored = secrets.filter { provider.config.values[$0] != nil }
            if let missing = stored.subtracting(given).subtracting(removed).sorted().first {
                throw HeraldError(.secretsRequired,
                    "changing config.\(destination) sends this provider's credentials to a new address: send every stored secret again (not ********) in the same request",
                    field: "config.\(missing)")
            }
        }
        return (values, false)
    }

    public func delete(id: UUID) async throws {
        guard try await store.delete(id: id) else { throw HeraldError(.notFound, "no provider with this id") }
        directory.invalidate()
        logger.notice("provider deleted", metadata: ["provider.id": "\(id)"])
    }

    /// The answer to `POST /v1/providers/{id}/test`.
    public struct TestResult: Sendable {
        public var providerMessageID: String
        public var httpStatus: Int?
        public var milliseconds: Int
    }

    /// Sends one real SMS through this provider only, now, and reports what it answered:
    /// the quickest way to learn whether credentials and sender work.
    ///
    /// A refusal is reported as the HTTP status, the provider's error code and our category,
    /// in our own words: never any part of the answer's body or other text from the remote
    /// host, which is whatever the configured URL chose to send back (a test must not become a
    /// way to read another server's responses, or to echo a secret it reflects).
    public func test(id: UUID, to: PhoneNumberInput, text: String) async throws -> TestResult {
        let provider = try await self.provider(id: id)
        if let error = provider.brokenError { throw error }
        let number = try to.parse(field: "to")
        let started = ContinuousClock.now
        func elapsed() -> Int {
            let duration = ContinuousClock.now - started
            return Int(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
        if provider.type == .outbox {
            return TestResult(providerMessageID: "outbox-test", httpStatus: nil, milliseconds: elapsed())
        }
        let adapter: any ProviderAdapter
        do { adapter = try ProviderAdapters.make(type: provider.type, config: provider.config) }
        catch { throw HeraldError.validation("config.\(error.key)", error.message) }
        let message = OutgoingMessage(
            id: UUID(), to: number.e164, text: text, channel: .sms, unicode: MessageText(text).encoding == .ucs2,
            statusCallbackURL: callbacks.status(provider: provider, messageID: nil))
        let wire: WireRequest
        do { wire = try adapter.smsRequest(message) }
        catch { throw HeraldError(.providerError, "\(provider.type.rawValue) cannot send this: \(error.message) (\(error.code))") }
        switch await client.send(wire) {
        case .transportFailure(let failure, _):
            // ProviderClient's transport messages are our own words (curl's error class only).
            throw HeraldError(.providerError, "\(provider.type.rawValue) did not answer: \(failure.message)")
        case .response(let response):
            switch adapter.interpret(response, for: message) {
            case .accepted(let providerMessageID):
                return TestResult(providerMessageID: providerMessageID, httpStatus: response.status, milliseconds: elapsed())
            case .failed(let failure, _):
                let code = Self.reportableCode(failure.code)
                logger.info("provider test refused", metadata: [
                    "provider.id": "\(provider.id)", "http.status": "\(response.status)",
                    "provider.code": "\(code)", "provider.category": "\(failure.category.rawValue)",
                ])
                throw HeraldError(.providerError,
                    "\(provider.type.rawValue) refused the test: HTTP \(response.status), provider code \(code) (\(failure.category.rawValue))")
            }
        }
    }

    /// A provider's error code as we pass it on: codes are short identifiers (`21211`,
    /// `EC_INVALID_DESTINATION_ADDRESS`); anything else is remote text and is not repeated.
    static func reportableCode(_ code: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:")
        guard (1...64).contains(code.count), code.allSatisfy({ allowed.contains($0) }) else { return "unrecognised" }
        return code
    }

    // MARK: Validation

    /// Refuses a config whose URLs point where Herald must not send requests (checked again
    /// on the address actually connected to, so DNS cannot get around it).
    func checkedDestinations(_ config: ProviderConfig, type: ProviderType) throws -> ProviderConfig {
        for key in Provider.destinationKeys(of: type).sorted() {
            if let url = config[key] { try urlPolicy.check(url, field: "config.\(key)") }
        }
        return config
    }

    static func name(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(name.count), !name.contains(where: { $0.isNewline }) else {
            throw HeraldError.validation("name", "must be 1–100 characters on one line")
        }
        return name
    }

    static func priority(_ value: Int) throws -> Int {
        guard (0...1_000_000).contains(value) else { throw HeraldError.validation("priority", "must be between 0 and 1000000") }
        return value
    }

    static func rate(_ value: Int?) throws -> Int? {
        guard let value else { return nil }
        guard (1...100_000).contains(value) else { throw HeraldError.validation("rate_per_second", "must be between 1 and 100000, or null") }
        return value
    }

    static func countries(_ values: [String]) throws -> [String] {
        guard values.count <= 300 else { throw HeraldError.validation("countries", "lists at most 300 countries") }
        var seen: [String] = []
        for (index, raw) in values.enumerated() {
            let code = raw.uppercased()
            guard code.count == 2, code.unicodeScalars.allSatisfy({ $0.value >= 65 && $0.value <= 90 }),
                  PhoneNumberParser.isValidRegion(code)
            else { throw HeraldError.validation("countries[\(index)]", "must be an ISO 3166 alpha-2 country code") }
            if !seen.contains(code) { seen.append(code) }
        }
        return seen
    }

    static func config(_ values: [String: JSONValue], type: ProviderType) throws -> ProviderConfig {
        let spec = ProviderConfigSpec.of(type)
        for (key, value) in values {
            guard spec.keys.contains(key) else {
                throw HeraldError.validation("config.\(key)", "is not a setting of \(type.rawValue) providers")
            }
            switch value {
            case .string(let text):
                guard text.utf8.count <= 16_384 else { throw HeraldError.validation("config.\(key)", "is too long") }
            case .object(let object) where type == .http && key == "headers":
                guard object.count <= 50, object.allSatisfy({ Self.isHeaderName($0.key) && ($0.value.stringValue.map(Self.isHeaderValue) ?? false) })
                else { throw HeraldError.validation("config.headers", "must map header names to single-line string values") }
            default:
                throw HeraldError.validation("config.\(key)", "must be a string")
            }
        }
        let config = ProviderConfig(values)
        if type != .outbox {
            do { _ = try ProviderAdapters.make(type: type, config: config) }
            catch { throw HeraldError.validation("config.\(error.key)", error.message) }
        }
        return config
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100 && name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar))
        }
    }

    static func isHeaderValue(_ value: String) -> Bool {
        value.utf8.count <= 4096 && !value.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }
    }
}

/// Callback URLs handed to providers, built from `HERALD_PUBLIC_URL`.
public struct CallbackURLs: Sendable {
    public let publicURL: String

    public init(publicURL: String) {
        var url = publicURL
        while url.hasSuffix("/") { url.removeLast() }
        self.publicURL = url
    }

    /// `…/webhooks/{provider}/status?m={message}`, plus `&token=` for providers that cannot sign.
    public func status(provider: Provider, messageID: UUID?, needsToken: Bool? = nil) -> String {
        var query: [String] = []
        if let messageID { query.append("m=" + messageID.uuidString.lowercased()) }
        let tokenNeeded = needsToken ?? Self.needsToken(provider)
        if tokenNeeded { query.append("token=" + provider.webhookToken) }
        return publicURL + "/webhooks/" + provider.id.uuidString.lowercased() + "/status" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    public func inbound(provider: Provider) -> String {
        publicURL + "/webhooks/" + provider.id.uuidString.lowercased() + "/inbound" + (Self.needsToken(provider) ? "?token=" + provider.webhookToken : "")
    }

    static func needsToken(_ provider: Provider) -> Bool {
        guard provider.type != .outbox, let adapter = try? ProviderAdapters.make(type: provider.type, config: provider.config) else { return true }
        return adapter.webhookAuthentication == .urlToken
    }
}
