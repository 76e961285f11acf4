import Foundation
import SMS
import Herald
import Hummingbird
import Providers

/// A provider on the wire; secrets redacted, webhook URLs included so they can be pasted
/// into the provider's console. `status` is `ok`, or `broken` with `error` saying why and
/// what to do (a broken provider's `config` shows no secrets: none could be read).
struct ProviderBody: Encodable {
    struct Problem: Encodable {
        let code: String
        let message: String
    }

    let id: String
    let name: String
    let type: ProviderType
    let config: [String: JSONValue]
    let priority: Int
    let countries: [String]
    @Nullable var ratePerSecond: Int?
    let enabled: Bool
    /// `ok`, or `broken` with `error` saying why.
    let status: String
    @Nullable var error: Problem?
    /// Absent for the outbox and for a broken provider: its webhooks are refused, and without
    /// its secrets it cannot tell whether they are signed or carry a token.
    let statusWebhookURL: String?
    let inboundWebhookURL: String?
    let createdAt: Date
    let updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, type, config, priority, countries, ratePerSecond = "rate_per_second", enabled, status, error
        case statusWebhookURL = "status_webhook_url", inboundWebhookURL = "inbound_webhook_url"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    init(provider: Provider, callbacks: CallbackURLs) {
        id = provider.id.wire
        name = provider.name
        type = provider.type
        config = provider.redactedConfig
        priority = provider.priority
        countries = provider.countries
        ratePerSecond = provider.ratePerSecond
        enabled = provider.enabled
        switch provider.state {
        case .ok:
            status = "ok"
            error = nil
        case .broken(let reason):
            status = "broken"
            error = Problem(code: reason.rawValue, message: reason.message)
        }
        let takesWebhooks = provider.type != .outbox && !provider.isBroken
        statusWebhookURL = takesWebhooks ? callbacks.status(provider: provider, messageID: nil) : nil
        inboundWebhookURL = takesWebhooks ? callbacks.inbound(provider: provider) : nil
        createdAt = provider.createdAt
        updatedAt = provider.updatedAt
    }
}


/// `/v1/providers` (scope admin).
struct ProviderRoutes {
    let providers: ProviderService
    let callbacks: CallbackURLs
    let auditor: Auditor

    struct ProviderRequest: Decodable {
        let name: String?
        let type: String?
        let config: [String: JSONValue]?
        let priority: Int?
        let countries: [String]?
        let ratePerSecond: Int??
        let enabled: Bool?

        enum CodingKeys: String, CodingKey {
            case name, type, config, priority, countries, ratePerSecond = "rate_per_second", enabled
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            // Only rate_per_second may be null (it clears the limit); null elsewhere is a mistake.
            for key in [CodingKeys.name, .type, .config, .priority, .countries, .enabled] where c.contains(key) {
                if try c.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(String.self, .init(codingPath: [key], debugDescription: "must not be null"))
                }
            }
            name = try c.decodeIfPresent(String.self, forKey: .name)
            type = try c.decodeIfPresent(String.self, forKey: .type)
            config = try c.decodeIfPresent([String: JSONValue].self, forKey: .config)
            priority = try c.decodeIfPresent(Int.self, forKey: .priority)
            countries = try c.decodeIfPresent([String].self, forKey: .countries)
            if c.contains(.ratePerSecond) {
                ratePerSecond = .some(try c.decodeNil(forKey: .ratePerSecond) ? nil : try c.decode(Int.self, forKey: .ratePerSecond))
            } else {
                ratePerSecond = nil
            }
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled)
        }

        var input: ProviderInput {
            ProviderInput(name: name, type: type, config: config, priority: priority, countries: countries,
                          ratePerSecond: ratePerSecond, enabled: enabled)
        }
    }

    struct TestRequest: Decodable {
        let to: String
        let country: String?
        let body: String?
    }

    struct TestBody: Encodable {
        let ok = true
        let providerMessageId: String
        @Nullable var httpStatus: Int?
        let latencyMs: Int
        enum CodingKeys: String, CodingKey {
            case ok, providerMessageId = "provider_message_id", httpStatus = "http_status", latencyMs = "latency_ms"
        }
    }

    static func target(_ provider: Provider) -> AuditTarget { AuditTarget("provider", id: provider.id, label: provider.name) }

    func register(on router: RouteRegistrar) {
        router.post("/v1/providers") { request, context in
            try context.require(.admin, write: true)
            let body = try await JSON.decode(ProviderRequest.self, from: request, context: context)
            let provider = try await providers.create(body.input)
            let created = ProviderBody(provider: provider, callbacks: callbacks)
            await auditor.record(request, context, "provider.create", Self.target(provider), after: created)
            return try JSON.response(created, status: .created)
        }
        router.get("/v1/providers") { _, context in
            try context.require(.admin, write: false)
            let all = try await providers.list()
            return try JSON.response(ListResponse(data: all.map { ProviderBody(provider: $0, callbacks: callbacks) }, nextCursor: nil))
        }
        router.get("/v1/providers/{id}") { _, context in
            try context.require(.admin, write: false)
            let provider = try await providers.provider(id: try context.parameters.uuid("id", what: "provider"))
            return try JSON.response(ProviderBody(provider: provider, callbacks: callbacks))
        }
        router.patch("/v1/providers/{id}") { request, context in
            try context.require(.admin, write: true)
            let id = try context.parameters.uuid("id", what: "provider")
            let body = try await JSON.decode(ProviderRequest.self, from: request, context: context)
            let before = ProviderBody(provider: try await providers.provider(id: id), callbacks: callbacks)
            let provider = try await providers.update(id: id, body.input)
            let after = ProviderBody(provider: provider, callbacks: callbacks)
            await auditor.record(request, context, "provider.update", Self.target(provider), before: before, after: after)
            return try JSON.response(after)
        }
        router.delete("/v1/providers/{id}") { request, context in
            try context.require(.admin, write: true)
            let id = try context.parameters.uuid("id", what: "provider")
            let provider = try await providers.provider(id: id)
            try await providers.delete(id: id)
            await auditor.record(request, context, "provider.delete", Self.target(provider),
                                 before: ProviderBody(provider: provider, callbacks: callbacks))
            return Response(status: .noContent)
        }
        router.post("/v1/providers/{id}/test") { request, context in
            try context.require(.admin, write: true)
            let id = try context.parameters.uuid("id", what: "provider")
            let body = try await JSON.decode(TestRequest.self, from: request, context: context)
            let text = body.body ?? "Herald test message: this provider works."
            guard (1...MessageService.maximumBodyCharacters).contains(text.count) else {
                throw HeraldError.validation("body", "must be 1–\(MessageService.maximumBodyCharacters) characters")
            }
            let result = try await providers.test(id: id, to: PhoneNumberInput(body.to, country: body.country), text: text)
            return try JSON.response(TestBody(providerMessageId: result.providerMessageID, httpStatus: result.httpStatus, latencyMs: result.milliseconds))
        }
    }
}
