/// Where an `HTTPClient` may connect to, for clients sending requests to URLs that someone else
/// chose (server-side request forgery).
///
/// The client checks the policy on the resolved address of every connection it opens — the
/// URL's host, each address a name resolves to, each redirect's target — just before the socket
/// is created (CURLOPT_OPENSOCKETFUNCTION). What a URL or an earlier DNS answer said does not
/// matter, so a name that resolves to a public address when it is validated and to a private
/// one when it is used (DNS rebinding) is refused too. Proxies are never used, so the address
/// checked is always the server's.
///
/// - Link-local addresses and cloud metadata services are always refused.
/// - Loopback, private, shared (CGNAT), unspecified, multicast, broadcast and reserved addresses
///   are refused unless `allowPrivateNetworks`.
/// - `deniedNetworks` are refused on top of that.
///
/// IPv6 addresses that embed an IPv4 one (`::ffff:169.254.169.254`, NAT64, 6to4) are judged by
/// the IPv4 address.
public struct AddressPolicy: Sendable, Hashable {
    /// Whether loopback, private and other non-public addresses may be connected to (a provider
    /// simulator on the same machine, a gateway on the LAN). Never link-local or metadata ones.
    public var allowPrivateNetworks: Bool
    /// Blocks refused whatever the rest of the policy says.
    public var deniedNetworks: [IPNetwork]

    public init(allowPrivateNetworks: Bool = false, deniedNetworks: [IPNetwork] = []) {
        self.allowPrivateNetworks = allowPrivateNetworks
        self.deniedNetworks = deniedNetworks
    }

    /// Whether a connection to `address` may be opened.
    public func allows(_ address: IPAddress) -> Bool {
        let embedded = address.embeddedIPv4
        for network in deniedNetworks {
            if network.contains(address) { return false }
            if let embedded, network.contains(embedded) { return false }
        }
        let category = address.category
        if category == .global { return true }
        if category.isAlwaysRefused { return false }
        return allowPrivateNetworks
    }
}

/// What kind of network an address belongs to, as far as `AddressPolicy` cares (the IANA IPv4
/// and IPv6 special-purpose address registries, plus the cloud metadata services).
public enum AddressCategory: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Any address not listed below: reachable over the internet.
    case global
    /// `127.0.0.0/8`, `::1`.
    case loopback
    /// `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`, unique local `fc00::/7`, the deprecated
    /// site-local `fec0::/10`, local-use NAT64 `64:ff9b:1::/48`.
    case privateNetwork
    /// `100.64.0.0/10`, carrier-grade NAT (RFC 6598).
    case sharedAddressSpace
    /// `0.0.0.0/8` ("this network"; 0.0.0.0 reaches the local host) and `::`.
    case unspecified
    /// `224.0.0.0/4`, `ff00::/8`.
    case multicast
    /// `255.255.255.255`.
    case broadcast
    /// Documentation, benchmarking, protocol-assignment and future-use blocks (`192.0.0.0/24`,
    /// `192.0.2.0/24`, `198.18.0.0/15`, `198.51.100.0/24`, `203.0.113.0/24`, `240.0.0.0/4`,
    /// `::/8` outside the forms above, `100::/64`, `2001:db8::/32`, `3fff::/20`).
    case reserved
    /// `169.254.0.0/16` and `fe80::/10`: never routed, home of most metadata services.
    case linkLocal
    /// Instance metadata and platform services outside or inside link-local: `169.254.169.254`
    /// (AWS, GCP, Azure, OCI, DigitalOcean…), AWS `fd00:ec2::/32` (IMDS `fd00:ec2::254`), GCP
    /// `fd20:ce::254`, OCI `fd00:c1::a9fe:a9fe`, Alibaba `100.100.100.200`, Oracle Classic
    /// `192.0.0.192`, Azure WireServer `168.63.129.16`.
    case cloudMetadata

    /// Refused even when private networks are allowed.
    public var isAlwaysRefused: Bool {
        self == .linkLocal || self == .cloudMetadata
    }

    public var description: String { rawValue }
}

extension IPAddress {
    /// The address's category; an IPv6 address that embeds an IPv4 one has the IPv4 address's.
    public var category: AddressCategory {
        if let embedded = embeddedIPv4 { return embedded.category }
        let table: [(IPNetwork, AddressCategory)]
        switch self {
        case .v4: table = AddressCategory.ipv4Table
        case .v6: table = AddressCategory.ipv6Table
        }
        return table.first { $0.0.contains(self) }?.1 ?? .global
    }
}

extension AddressCategory {
    /// First match wins, so single metadata addresses come before the blocks holding them.
    fileprivate static let ipv4Table = table([
        ("169.254.169.254/32", .cloudMetadata),
        ("100.100.100.200/32", .cloudMetadata),
        ("192.0.0.192/32", .cloudMetadata),
        ("168.63.129.16/32", .cloudMetadata),
        ("0.0.0.0/8", .unspecified),
        ("10.0.0.0/8", .privateNetwork),
        ("100.64.0.0/10", .sharedAddressSpace),
        ("127.0.0.0/8", .loopback),
        ("169.254.0.0/16", .linkLocal),
        ("172.16.0.0/12", .privateNetwork),
        ("192.0.0.0/24", .reserved),
        ("192.0.2.0/24", .reserved),
        ("192.168.0.0/16", .privateNetwork),
        ("198.18.0.0/15", .reserved),
        ("198.51.100.0/24", .reserved),
        ("203.0.113.0/24", .reserved),
        ("224.0.0.0/4", .multicast),
        ("255.255.255.255/32", .broadcast),
        ("240.0.0.0/4", .reserved),
    ])

    /// Consulted after `embeddedIPv4`, so `::ffff:0:0/96` and friends never get here. The NAT64
    /// prefixes (`64:ff9b::/96`, `64:ff9b:1::/48`) are carved out of `::/8`.
    fileprivate static let ipv6Table = table([
        ("fd00:ec2::/32", .cloudMetadata),
        ("fd20:ce::254/128", .cloudMetadata),
        ("fd00:c1::a9fe:a9fe/128", .cloudMetadata),
        ("::/128", .unspecified),
        ("::1/128", .loopback),
        ("64:ff9b:1::/48", .privateNetwork),
        ("::/8", .reserved),
        ("100::/64", .reserved),
        ("2001:db8::/32", .reserved),
        ("3fff::/20", .reserved),
        ("fc00::/7", .privateNetwork),
        ("fe80::/10", .linkLocal),
        ("fec0::/10", .privateNetwork),
        ("ff00::/8", .multicast),
    ])

    /// Parses a table written as text; the entries are constants, so a typo stops the first use.
    private static func table(_ entries: [(String, AddressCategory)]) -> [(IPNetwork, AddressCategory)] {
        entries.map { entry in
            guard let network = IPNetwork(entry.0) else { preconditionFailure("bad network \(entry.0)") }
            return (network, entry.1)
        }
    }
}
