import Foundation
import SMS


/// A provider's `config` with its documented keys, checked against the type's spec.
public struct ProviderConfig: Sendable, Equatable {
    public var values: [String: JSONValue]
    public init(_ values: [String: JSONValue] = [:]) { self.values = values }

    public subscript(key: String) -> String? {
        guard let value = values[key]?.stringValue, !value.isEmpty else { return nil }
        return value
    }

    /// A required string, or a `ProviderConfigError` naming `config.<key>`.
    public func require(_ key: String) throws(ProviderConfigError) -> String {
        guard let value = self[key] else { throw ProviderConfigError(key: key, message: "is required") }
        return value
    }

    /// `base_url` (or another URL key) without a trailing slash, checked to be http(s).
    public func url(_ key: String, default fallback: String?) throws(ProviderConfigError) -> String {
        guard var value = self[key] ?? fallback else { throw ProviderConfigError(key: key, message: "is required") }
        while value.hasSuffix("/") { value.removeLast() }
        guard let url = URL(string: value), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host?.isEmpty == false
        else { throw ProviderConfigError(key: key, message: "must be an http or https URL") }
        return value
    }
}

/// A `config` value that is missing or wrong.
public struct ProviderConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key inside `config` (`auth_token`).
    public var key: String
    public var message: String
    public init(key: String, message: String) { self.key = key; self.message = message }
    public var description: String { "config.\(key) \(message)" }
}

/// Which `config` keys a provider type knows and which of them are secrets (write-only in the
/// API, encrypted at rest). From API.md's table.
public struct ProviderConfigSpec: Sendable {
    public var keys: Set<String>
    public var secrets: Set<String>

    public static func of(_ type: ProviderType) -> ProviderConfigSpec {
        switch type {
        case .twilio:
            ProviderConfigSpec(keys: ["account_sid", "auth_token", "from", "messaging_service_sid", "base_url"],
                               secrets: ["auth_token"])
        case .vonage:
            ProviderConfigSpec(keys: ["api_key", "api_secret", "signature_secret", "signature_method", "application_id",
                                      "private_key", "from", "base_url", "voice_base_url"],
                               secrets: ["api_secret", "signature_secret", "private_key"])
        case .plivo:
            ProviderConfigSpec(keys: ["auth_id", "auth_token", "from", "base_url"], secrets: ["auth_token"])
        case .sinch:
            ProviderConfigSpec(keys: ["service_plan_id", "api_token", "webhook_secret", "from", "base_url"],
                               secrets: ["api_token", "webhook_secret"])
        case .infobip:
            ProviderConfigSpec(keys: ["api_key", "base_url", "from"], secrets: ["api_key"])
        case .telnyx:
            ProviderConfigSpec(keys: ["api_key", "public_key", "messaging_profile_id", "connection_id", "from", "base_url"],
                               secrets: ["api_key"])
        case .http:
            ProviderConfigSpec(keys: ["url", "method", "headers", "content_type", "body", "id_path", "base_url", "from"],
                               secrets: ["headers"])
        case .outbox:
            ProviderConfigSpec(keys: ["base_url", "from"], secrets: [])
        }
    }
}
