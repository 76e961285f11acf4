import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as bytes, printed in its canonical form. IPv4-mapped IPv6
/// (`::ffff:192.0.2.1`) is read as the IPv4 address, so one client has one spelling.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 (IPv6).
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }

    /// Parses `192.0.2.1`, `2001:db8::1`, `[2001:db8::1]`; nil for anything else.
    public init?(_ text: some StringProtocol) {
        var text = String(text).trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let raw = withUnsafeBytes(of: &v6) { Array($0) }
        bytes = raw.prefix(12) == Self.mappedPrefix ? Array(raw.suffix(4)) : raw
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private static let mappedPrefix: ArraySlice<UInt8> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF][...]

    /// The address with all but the first `prefixLength` bits cleared.
    public func masked(to prefixLength: Int) -> IPAddress {
        var out = bytes
        for index in out.indices {
            let keep = min(max(prefixLength - index * 8, 0), 8)
            out[index] &= keep == 8 ? 0xFF : ~(0xFF >> UInt8(keep))
        }
        return IPAddress(bytes: out)
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) } != nil
        guard ok else { return bytes.map { String($0) }.joined(separator: ".") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The reverse proxies whose `X-Forwarded-For` Herald believes (`HERALD_TRUSTED_PROXIES`:
/// addresses or CIDR ranges, comma-separated). Empty by default: the client address is the
/// TCP peer and forwarding headers are ignored, since anyone can send them.
///
/// Behind trusted proxies, the client is the right-most address in `X-Forwarded-For` that is
/// not itself a trusted proxy: each proxy appends the address it saw, so everything left of
/// the first untrusted hop may have been written by the client.
public struct TrustedProxies: Sendable, Equatable {
    struct Range: Sendable, Equatable {
        let network: IPAddress
        let prefixLength: Int
        func contains(_ address: IPAddress) -> Bool {
            address.bytes.count == network.bytes.count && address.masked(to: prefixLength) == network
        }
    }

    let ranges: [Range]

    public init() { ranges = [] }

    /// Parses `127.0.0.1, ::1, 10.0.0.0/8`; an entry that is not an address or range is an error naming it.
    public init(parsing list: String) throws {
        var ranges: [Range] = []
        for entry in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1)
            guard let address = IPAddress(parts[0]) else {
                throw ConfigurationError("HERALD_TRUSTED_PROXIES: '\(entry)' is not an IP address or CIDR range")
            }
            let bits = address.bytes.count * 8
            var length = bits
            if parts.count == 2 {
                guard let parsed = Int(parts[1]), (0...bits).contains(parsed) else {
                    throw ConfigurationError("HERALD_TRUSTED_PROXIES: '\(entry)' has a bad prefix length")
                }
                length = parsed
            }
            ranges.append(Range(network: address.masked(to: length), prefixLength: length))
        }
        self.ranges = ranges
    }

    public var isEmpty: Bool { ranges.isEmpty }

    public func contains(_ address: IPAddress) -> Bool { ranges.contains { $0.contains(address) } }

    /// The client's address for a request from `peer` carrying these `X-Forwarded-For` values.
    public func clientAddress(peer: String, forwardedFor: [String]) -> String {
        guard let peerAddress = IPAddress(peer) else { return peer }
        guard contains(peerAddress) else { return peerAddress.description }
        var client = peerAddress
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }
        for hop in hops.reversed() {
            // A hop that is not an address (`unknown`, garbage) ends the walk: the last proxy we
            // trust is the best we know.
            guard let address = Self.address(inHop: hop) else { break }
            client = address
            if !contains(address) { break }
        }
        return client.description
    }

    /// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711` or a bare IPv6 address.
    static func address(inHop hop: Substring) -> IPAddress? {
        let text = hop.trimmingCharacters(in: .whitespaces)
        if let address = IPAddress(text) { return address }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return IPAddress(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon {
            return IPAddress(text[..<colon])
        }
        return nil
    }
}
