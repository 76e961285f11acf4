import Foundation
import SMS
import Providers

/// A configured provider. `config` holds secrets in the clear: it never leaves the process
/// except through `redactedConfig`.
public struct Provider: Sendable {
    public var id: UUID
    public var name: String
    public var type: ProviderType
    public var config: ProviderConfig
    public var priority: Int
    /// ISO 3166 alpha-2 codes this provider sends to; empty means everywhere.
    public var countries: [String]
    public var ratePerSecond: Int?
    public var enabled: Bool
    /// The secret in callback URLs of providers that cannot sign their webhooks.
    public var webhookToken: String
    public var createdAt: Date
    public var updatedAt: Date

    public static let redacted = JSONValue.string("********")

    /// `config` as the API shows it: every secret key that is set reads `********`.
    public var redactedConfig: [String: JSONValue] {
        let secrets = ProviderConfigSpec.of(type).secrets
        var shown: [String: JSONValue] = [:]
        for (key, value) in config.values {
            shown[key] = secrets.contains(key) ? Self.redacted : value
        }
        return shown
    }

    public func serves(country: String?) -> Bool {
        countries.isEmpty || (country.map { countries.contains($0) } ?? false)
    }
}

/// The input of `POST /v1/providers` (and, with optionals, of PATCH).
public struct ProviderInput: Sendable {
    public var name: String?
    public var type: String?
    /// Keys with `null` remove a value on PATCH.
    public var config: [String: JSONValue]?
    public var priority: Int?
    public var countries: [String]?
    /// `.some(nil)` clears the limit on PATCH.
    public var ratePerSecond: Int??
    public var enabled: Bool?

    public init(name: String? = nil, type: String? = nil, config: [String: JSONValue]? = nil, priority: Int? = nil,
                countries: [String]? = nil, ratePerSecond: Int?? = nil, enabled: Bool? = nil) {
        self.name = name; self.type = type; self.config = config; self.priority = priority
        self.countries = countries; self.ratePerSecond = ratePerSecond; self.enabled = enabled
    }
}
