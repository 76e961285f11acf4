#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as numbers: what a socket connects to.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address; `0x7F00_0001` is 127.0.0.1.
    case v4(UInt32)
    /// An IPv6 address as its first and last 64 bits; `(high: 0, low: 1)` is ::1.
    case v6(high: UInt64, low: UInt64)

    /// Parses the standard text forms: dotted-quad IPv4 (`192.0.2.1`, no leading zeros) and
    /// RFC 4291 IPv6 (`2001:db8::1`, `::ffff:192.0.2.1`), without brackets or zone. Nil otherwise.
    public init?(_ text: String) {
        guard !text.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        self = withUnsafeBytes(of: &v6) { IPAddress(ipv6Bytes: $0) }
    }

    /// Parses the host of a URL as a numeric address the way libcurl and the system resolver
    /// read it, or returns nil for a host name.
    ///
    /// Accepts a bracketed or bare IPv6 literal, with or without a zone (`[fe80::1%25eth0]`), and
    /// IPv4 in every form `inet_aton` accepts: one to four parts, each decimal, octal (leading
    /// `0`) or hexadecimal (`0x`), the last part filling the remaining bytes (`127.1`,
    /// `0x7f000001`, `2130706433`, `0177.0.0.1`); one trailing dot is ignored.
    public init?(urlHost host: String) {
        var text = Substring(host)
        if text.hasPrefix("["), text.hasSuffix("]") {
            text = text.dropFirst().dropLast()
        }
        if text.contains(":") {
            if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
            guard let address = IPAddress(String(text)), case .v6 = address else { return nil }
            self = address
            return
        }
        guard let value = Self.parseLenientIPv4(text) else { return nil }
        self = .v4(value)
    }

    /// Reads a `sockaddr_in` or `sockaddr_in6` of `length` bytes; nil for other families.
    public init?(socketAddress pointer: UnsafeRawPointer, length: Int) {
        let familyOffset = MemoryLayout<sockaddr>.offset(of: \sockaddr.sa_family)!
        guard length >= familyOffset + MemoryLayout<sa_family_t>.size else { return nil }
        let family = Int32(pointer.loadUnaligned(fromByteOffset: familyOffset, as: sa_family_t.self))
        switch family {
        case AF_INET where length >= MemoryLayout<sockaddr_in>.size:
            let address = pointer.loadUnaligned(as: sockaddr_in.self)
            self = .v4(UInt32(bigEndian: address.sin_addr.s_addr))
        case AF_INET6 where length >= MemoryLayout<sockaddr_in6>.size:
            var address = pointer.loadUnaligned(as: sockaddr_in6.self)
            self = withUnsafeBytes(of: &address.sin6_addr) { IPAddress(ipv6Bytes: $0) }
        default:
            return nil
        }
    }

    /// The address in 16 bytes, network order.
    private init(ipv6Bytes bytes: UnsafeRawBufferPointer) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(bytes[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(bytes[index]) }
        self = .v6(high: high, low: low)
    }

    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let high, let low):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { bytes in
                for index in 0..<8 {
                    bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
                    bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
                }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return "?" }
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The IPv4 address an IPv6 address stands for, where it embeds one: IPv4-mapped
    /// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, other than `::` and `::1`),
    /// IPv4-translated (`::ffff:0:a.b.c.d`), the NAT64 well-known prefix (`64:ff9b::a.b.c.d`,
    /// RFC 6052) and 6to4 (`2002:AABB:CCDD::/48`, RFC 3056). Nil for IPv4 addresses and other
    /// IPv6 addresses.
    public var embeddedIPv4: IPAddress? {
        guard case .v6(let high, let low) = self else { return nil }
        let v4 = IPAddress.v4(UInt32(truncatingIfNeeded: low))
        switch (high, low >> 32) {
        case (0, 0x0000_FFFF):  // mapped
            return v4
        case (0, 0) where low > 1:  // compatible
            return v4
        case (0, 0xFFFF_0000):  // translated
            return v4
        case (0x0064_FF9B_0000_0000, 0):  // NAT64
            return v4
        default:
            guard high >> 48 == 0x2002 else { return nil }  // 6to4
            return .v4(UInt32(truncatingIfNeeded: high >> 16))
        }
    }

    /// `inet_aton`'s IPv4 forms; nil when `text` is not one (so it is a host name).
    private static func parseLenientIPv4(_ text: Substring) -> UInt32? {
        var text = text
        if text.hasSuffix(".") { text = text.dropLast() }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [UInt64] = []
        for part in parts {
            guard let number = parseNumber(part) else { return nil }
            numbers.append(number)
        }
        var value: UInt64 = 0
        for number in numbers.dropLast() {
            guard number <= 0xFF else { return nil }
            value = value << 8 | number
        }
        let lastBits = 8 * (5 - parts.count)
        guard let last = numbers.last, last < 1 << lastBits else { return nil }
        return UInt32(value << lastBits | last)
    }

    /// One part of a lenient IPv4 address: `0x…` hexadecimal, `0…` octal, else decimal; at most
    /// 2³² − 1.
    private static func parseNumber(_ part: Substring) -> UInt64? {
        var digits = part.utf8[...]
        let radix: UInt64
        if digits.starts(with: "0x".utf8) || digits.starts(with: "0X".utf8) {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count > 1, digits.first == UInt8(ascii: "0") {
            radix = 8
            digits = digits.dropFirst()
        } else {
            guard !digits.isEmpty else { return nil }
            radix = 10
        }
        var value: UInt64 = 0
        for byte in digits {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard digit < radix else { return nil }
            value = value * radix + digit
            guard value <= UInt64(UInt32.max) else { return nil }
        }
        return value
    }
}

/// A block of addresses: an address and a prefix length (`10.0.0.0/8`, `fd00:ec2::/32`).
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the block (the bits past the prefix are zero).
    public let address: IPAddress
    /// At most 32 for IPv4, 128 for IPv6.
    public let prefixLength: Int

    /// The block of `prefixLength` bits around `address`; nil when the length is out of range.
    public init?(address: IPAddress, prefixLength: Int) {
        switch address {
        case .v4(let value):
            guard (0...32).contains(prefixLength) else { return nil }
            self.address = .v4(value & IPNetwork.mask32(prefixLength))
        case .v6(let high, let low):
            guard (0...128).contains(prefixLength) else { return nil }
            let (highMask, lowMask) = IPNetwork.mask128(prefixLength)
            self.address = .v6(high: high & highMask, low: low & lowMask)
        }
        self.prefixLength = prefixLength
    }

    /// Parses `address/length`, or a bare address (a block of one).
    public init?(_ text: String) {
        let pieces = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(pieces[0])) else { return nil }
        let length: Int
        if pieces.count == 2 {
            guard pieces[1].utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                  pieces[1].utf8.count <= 3, let parsed = Int(pieces[1])
            else { return nil }
            length = parsed
        } else {
            if case .v4 = address { length = 32 } else { length = 128 }
        }
        self.init(address: address, prefixLength: length)
    }

    /// Whether `candidate` is in the block; an IPv4 block holds no IPv6 address and the other
    /// way round (see `IPAddress.embeddedIPv4`).
    public func contains(_ candidate: IPAddress) -> Bool {
        switch (address, candidate) {
        case (.v4(let base), .v4(let value)):
            return value & IPNetwork.mask32(prefixLength) == base
        case (.v6(let baseHigh, let baseLow), .v6(let high, let low)):
            let (highMask, lowMask) = IPNetwork.mask128(prefixLength)
            return high & highMask == baseHigh && low & lowMask == baseLow
        default:
            return false
        }
    }

    public var description: String { "\(address)/\(prefixLength)" }

    // Swift's `<<` gives 0 when shifting by the full width, so a zero-length prefix masks everything.
    private static func mask32(_ length: Int) -> UInt32 {
        UInt32.max << (32 - length)
    }

    private static func mask128(_ length: Int) -> (UInt64, UInt64) {
        length <= 64 ? (UInt64.max << (64 - length), 0) : (UInt64.max, UInt64.max << (128 - length))
    }
}
