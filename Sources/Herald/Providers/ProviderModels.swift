import Foundation
import SMS
import Providers

/// A configured provider. `config` holds secrets in the clear: it never leaves the process
/// except through `redactedConfig`. A `broken` provider's `config` holds no secrets at all.
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
    /// Whether Herald can act for this provider. Not stored: found when the row is read.
    public var state: State = .ok

    /// A provider is `ok`, or stored but unusable until an admin repairs it.
    public enum State: Sendable, Equatable {
        case ok
        /// Nothing sends through it and its webhooks are refused; the admin API shows it so it
        /// can be repaired (or deleted).
        case broken(BrokenReason)
    }

    public enum BrokenReason: String, Sendable, Equatable {
        /// The sealed secrets do not open: `HERALD_SECRET` differs from the one they were saved
        /// with (or the row was damaged). A PATCH with the secrets again repairs it.
        case secretsUnreadable = "secrets_unreadable"

        /// What an admin should do, for the API and the dashboard.
        public var message: String {
            switch self {
            case .secretsUnreadable:
                "this provider's stored secrets cannot be decrypted (HERALD_SECRET differs from the one they were saved with); re-enter the secrets to repair it"
            }
        }
    }

    public var isBroken: Bool { state != .ok }

    /// The error for acting (sending, a test, a webhook) for a broken provider.
    public var brokenError: HeraldError? {
        guard case .broken(let reason) = state else { return nil }
        return HeraldError(.secretsUnreadable, reason.message)
    }

    /// The `config` keys of `type` that decide where requests go (`url`, `base_url`,
    /// `voice_base_url`, and any future `…_url`): changing one moves the credentials to another
    /// host, so it needs the secrets sent again.
    public static func destinationKeys(of type: ProviderType) -> Set<String> {
        ProviderConfigSpec.of(type).keys.filter { $0 == "url" || $0.hasSuffix("_url") }
    }

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
