import Curl
import Foundation

/// Where admin-configured URLs that Herald sends requests to (a provider's `base_url`, the
/// `http` provider's `url`, the `events_url` setting) may point, checked when they are saved.
///
/// This is the early, friendly half of the rule: it refuses URLs whose host is a literal
/// address the HTTP client would refuse, or the name of a cloud metadata service, with a
/// `validation_failed` error on the field before anything is stored or sent. The enforcing half
/// is the client's `AddressPolicy` (``addressPolicy``), which checks the address of every
/// connection as it is opened, so host names resolving to refused addresses (at save time or
/// later, DNS rebinding) and redirects are caught there.
///
/// - Link-local and cloud metadata addresses, and metadata host names, are always refused.
/// - Loopback, private and other non-public addresses, `localhost` and `*.localhost` are refused
///   unless private networks are allowed (`HERALD_ALLOW_PRIVATE_NETWORKS=true`).
///
/// URL syntax is not judged here: a string that does not parse as a URL with a host passes, and
/// is left to the field's own validation.
public struct OutboundURLPolicy: Sendable, Hashable {
    public var allowPrivateNetworks: Bool

    public init(allowPrivateNetworks: Bool) {
        self.allowPrivateNetworks = allowPrivateNetworks
    }

    /// The policy for `configuration.allowPrivateNetworks`.
    public init(configuration: HeraldConfiguration) {
        self.init(allowPrivateNetworks: configuration.allowPrivateNetworks)
    }

    /// What the HTTP client must enforce for the same rule
    /// (`HTTPClient.Configuration.addressPolicy`).
    public var addressPolicy: AddressPolicy {
        AddressPolicy(allowPrivateNetworks: allowPrivateNetworks)
    }

    /// Names that resolve to a metadata service inside the cloud they belong to: GCP's (also by
    /// its short name through the instance's search domain) and AWS's legacy EC2 names.
    public static let metadataHostNames: Set<String> = [
        "metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal",
    ]

    /// Throws `validation_failed` on `field` (`config.base_url`, `events_url`) when `url` points
    /// where Herald must not send requests.
    public func check(_ url: String, field: String) throws(HeraldError) {
        if let reason = refusal(of: url) { throw HeraldError.validation(field, reason) }
    }

    /// Why `url` may not be used, as a sentence ending an error message; nil when it may.
    public func refusal(of url: String) -> String? {
        guard let parsed = URL(string: url), var host = parsed.host(percentEncoded: false)?.lowercased(), !host.isEmpty
        else { return nil }
        if host.hasSuffix("."), !host.hasPrefix("[") { host.removeLast() }
        if Self.metadataHostNames.contains(host) {
            return Self.alwaysRefused
        }
        if let address = Curl.IPAddress(urlHost: host) {
            if address.category.isAlwaysRefused { return Self.alwaysRefused }
            if !addressPolicy.allows(address) { return Self.privateRefused }
            return nil
        }
        if !allowPrivateNetworks, host == "localhost" || host.hasSuffix(".localhost") {
            return Self.privateRefused
        }
        return nil
    }

    private static let alwaysRefused = "must not point at a cloud metadata service or a link-local address"
    private static let privateRefused =
        "must not point at a loopback, private or other non-public address (HERALD_ALLOW_PRIVATE_NETWORKS=true allows it)"
}

extension HeraldConfiguration {
    /// The rule for outbound URLs, from `allowPrivateNetworks`.
    public var outboundURLPolicy: OutboundURLPolicy {
        OutboundURLPolicy(configuration: self)
    }
}
