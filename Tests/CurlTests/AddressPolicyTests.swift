import Curl
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("address policy: categories and decisions")
struct AddressPolicyTests {
    private func category(_ text: String) throws -> AddressCategory {
        try #require(IPAddress(text), "\(text) parses").category
    }

    @Test("IPv4 block boundaries", arguments: [
        // link-local and metadata
        ("169.253.255.255", AddressCategory.global), ("169.254.0.0", .linkLocal), ("169.254.0.1", .linkLocal),
        ("169.254.169.253", .linkLocal), ("169.254.169.254", .cloudMetadata), ("169.254.169.255", .linkLocal),
        ("169.254.170.2", .linkLocal), ("169.254.255.255", .linkLocal), ("169.255.0.0", .global),
        ("100.100.100.199", .sharedAddressSpace), ("100.100.100.200", .cloudMetadata), ("100.100.100.201", .sharedAddressSpace),
        ("192.0.0.191", .reserved), ("192.0.0.192", .cloudMetadata), ("192.0.0.193", .reserved),
        ("168.63.129.15", .global), ("168.63.129.16", .cloudMetadata), ("168.63.129.17", .global),
        // this network
        ("0.0.0.0", .unspecified), ("0.255.255.255", .unspecified), ("1.0.0.0", .global),
        // 10/8
        ("9.255.255.255", .global), ("10.0.0.0", .privateNetwork), ("10.255.255.255", .privateNetwork), ("11.0.0.0", .global),
        // 100.64/10
        ("100.63.255.255", .global), ("100.64.0.0", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace),
        ("100.128.0.0", .global),
        // loopback
        ("126.255.255.255", .global), ("127.0.0.0", .loopback), ("127.0.0.1", .loopback), ("127.255.255.255", .loopback),
        ("128.0.0.0", .global),
        // 172.16/12
        ("172.15.255.255", .global), ("172.16.0.0", .privateNetwork), ("172.31.255.255", .privateNetwork), ("172.32.0.0", .global),
        // 192.0.0/24, 192.0.2/24, 192.168/16
        ("191.255.255.255", .global), ("192.0.0.0", .reserved), ("192.0.0.255", .reserved), ("192.0.1.0", .global),
        ("192.0.2.0", .reserved), ("192.0.2.255", .reserved), ("192.0.3.0", .global),
        ("192.167.255.255", .global), ("192.168.0.0", .privateNetwork), ("192.168.255.255", .privateNetwork), ("192.169.0.0", .global),
        // benchmarking and documentation
        ("198.17.255.255", .global), ("198.18.0.0", .reserved), ("198.19.255.255", .reserved), ("198.20.0.0", .global),
        ("198.51.99.255", .global), ("198.51.100.0", .reserved), ("198.51.100.255", .reserved), ("198.51.101.0", .global),
        ("203.0.112.255", .global), ("203.0.113.0", .reserved), ("203.0.113.255", .reserved), ("203.0.114.0", .global),
        // multicast, future use, broadcast
        ("223.255.255.255", .global), ("224.0.0.0", .multicast), ("239.255.255.255", .multicast), ("240.0.0.0", .reserved),
        ("255.255.255.254", .reserved), ("255.255.255.255", .broadcast),
        // ordinary public addresses
        ("8.8.8.8", .global), ("1.1.1.1", .global), ("93.184.216.34", .global),
    ])
    func ipv4(text: String, expected: AddressCategory) throws {
        #expect(try category(text) == expected)
    }

    @Test("IPv6 block boundaries", arguments: [
        ("::", AddressCategory.unspecified), ("::1", .loopback), ("::2:0:0", .reserved), ("ff:ffff::", .reserved),
        ("100::", .reserved), ("100::ffff:ffff:ffff:ffff", .reserved), ("100:0:0:1::", .global),
        ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", .global), ("2001:db8::", .reserved),
        ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", .reserved), ("2001:db9::", .global),
        ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .global), ("3fff::", .reserved), ("3fff:fff::", .reserved), ("3fff:1000::", .global),
        ("64:ff9b:1::", .privateNetwork), ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", .privateNetwork), ("64:ff9b:2::", .reserved),
        ("64:ff9b:0:ffff:ffff:ffff:ffff:ffff", .reserved), ("ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .reserved), ("100::1", .reserved),
        ("1ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .global),
        ("fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .global), ("fc00::", .privateNetwork), ("fd12:3456::1", .privateNetwork),
        ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .privateNetwork), ("fe00::", .global),
        ("fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .global), ("fe80::", .linkLocal), ("fe80::1", .linkLocal),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .linkLocal), ("fec0::", .privateNetwork),
        ("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", .privateNetwork), ("ff00::", .multicast), ("ff02::1", .multicast),
        // metadata services inside fc00::/7
        ("fd00:ec2::254", .cloudMetadata), ("fd00:ec2::23", .cloudMetadata), ("fd00:ec1:ffff:ffff:ffff:ffff:ffff:ffff", .privateNetwork),
        ("fd00:ec3::", .privateNetwork), ("fd20:ce::254", .cloudMetadata), ("fd20:ce::253", .privateNetwork),
        ("fd00:c1::a9fe:a9fe", .cloudMetadata), ("fd00:c1::a9fe:a9ff", .privateNetwork),
        // ordinary public addresses
        ("2001:4860:4860::8888", .global), ("2606:4700:4700::1111", .global), ("2a00:1450:4001::1", .global),
    ])
    func ipv6(text: String, expected: AddressCategory) throws {
        #expect(try category(text) == expected)
    }

    @Test("IPv6 forms that embed an IPv4 address take its category", arguments: [
        // mapped
        ("::ffff:169.254.169.254", AddressCategory.cloudMetadata), ("::ffff:a9fe:a9fe", .cloudMetadata),
        ("::ffff:169.254.0.1", .linkLocal), ("::ffff:127.0.0.1", .loopback), ("::ffff:10.1.2.3", .privateNetwork),
        ("::ffff:0.0.0.0", .unspecified), ("::ffff:8.8.8.8", .global), ("0:0:0:0:0:ffff:7f00:1", .loopback),
        // compatible (deprecated), translated, NAT64, 6to4
        ("::169.254.169.254", .cloudMetadata), ("::127.0.0.1", .loopback), ("::0.0.0.2", .unspecified), ("::8.8.8.8", .global),
        ("::ffff:0:169.254.169.254", .cloudMetadata), ("::ffff:0:8.8.8.8", .global),
        ("64:ff9b::169.254.169.254", .cloudMetadata), ("64:ff9b::a9fe:1", .linkLocal), ("64:ff9b::192.168.1.1", .privateNetwork),
        ("64:ff9b::8.8.8.8", .global),
        ("2002:a9fe:a9fe::1", .cloudMetadata), ("2002:7f00:1::", .loopback), ("2002:c0a8:101::1", .privateNetwork),
        ("2002:808:808::1", .global),
    ])
    func embedded(text: String, expected: AddressCategory) throws {
        #expect(try category(text) == expected)
    }

    @Test("embeddedIPv4 finds the IPv4 address only in the forms that carry one")
    func embeddedIPv4() {
        #expect(IPAddress("::ffff:1.2.3.4")?.embeddedIPv4 == IPAddress("1.2.3.4"))
        #expect(IPAddress("::1.2.3.4")?.embeddedIPv4 == IPAddress("1.2.3.4"))
        #expect(IPAddress("64:ff9b::1.2.3.4")?.embeddedIPv4 == IPAddress("1.2.3.4"))
        #expect(IPAddress("2002:102:304:5::6")?.embeddedIPv4 == IPAddress("1.2.3.4"))
        #expect(IPAddress("::")?.embeddedIPv4 == nil)
        #expect(IPAddress("::1")?.embeddedIPv4 == nil)
        #expect(IPAddress("::1:0:0:1")?.embeddedIPv4 == nil)
        #expect(IPAddress("64:ff9b:0:0:1::1")?.embeddedIPv4 == nil)
        #expect(IPAddress("2003::1")?.embeddedIPv4 == nil)
        #expect(IPAddress("1.2.3.4")?.embeddedIPv4 == nil)
    }

    @Test("without private networks only global addresses are allowed; with them, all but link-local and metadata")
    func decisions() {
        let strict = AddressPolicy(allowPrivateNetworks: false)
        let relaxed = AddressPolicy(allowPrivateNetworks: true)
        let samples: [(String, AddressCategory)] = [
            ("8.8.8.8", .global), ("2001:4860:4860::8888", .global), ("::ffff:8.8.8.8", .global),
            ("127.0.0.1", .loopback), ("::1", .loopback), ("::ffff:127.0.0.1", .loopback),
            ("10.0.0.1", .privateNetwork), ("172.16.0.1", .privateNetwork), ("192.168.1.1", .privateNetwork),
            ("fd12::1", .privateNetwork), ("100.64.0.1", .sharedAddressSpace), ("0.0.0.0", .unspecified), ("::", .unspecified),
            ("224.0.0.1", .multicast), ("ff02::1", .multicast), ("255.255.255.255", .broadcast), ("240.0.0.1", .reserved),
            ("169.254.169.254", .cloudMetadata), ("::ffff:169.254.169.254", .cloudMetadata), ("fd00:ec2::254", .cloudMetadata),
            ("169.254.1.1", .linkLocal), ("fe80::1", .linkLocal), ("::ffff:169.254.1.1", .linkLocal),
        ]
        #expect(Set(samples.map(\.1)) == Set(AddressCategory.allCases), "every category is sampled")
        for (text, expected) in samples {
            let address = IPAddress(text)!
            #expect(address.category == expected, "\(text)")
            #expect(strict.allows(address) == (expected == .global), "\(text) without private networks")
            #expect(relaxed.allows(address) == !expected.isAlwaysRefused, "\(text) with private networks")
        }
        #expect(AddressCategory.allCases.filter(\.isAlwaysRefused) == [.linkLocal, .cloudMetadata])
        #expect(AddressPolicy().allowPrivateNetworks == false, "private networks are refused by default")
    }

    @Test("denied networks are refused on top of the rules, IPv4-mapped forms included")
    func deniedNetworks() throws {
        let policy = AddressPolicy(allowPrivateNetworks: true,
                                   deniedNetworks: [try #require(IPNetwork("127.0.0.2/32")), try #require(IPNetwork("2001:db9::/32"))])
        #expect(!policy.allows(IPAddress("127.0.0.2")!))
        #expect(!policy.allows(IPAddress("::ffff:127.0.0.2")!))
        #expect(!policy.allows(IPAddress("2001:db9::1")!))
        #expect(policy.allows(IPAddress("127.0.0.1")!))
        #expect(policy.allows(IPAddress("127.0.0.3")!))
        #expect(policy.allows(IPAddress("2001:dba::1")!))
        #expect(!policy.allows(IPAddress("169.254.169.254")!), "the fixed rules still apply")
    }
}

@Suite("IP addresses and networks")
struct IPAddressTests {
    @Test("strict parsing: dotted quads and RFC 4291 text only", arguments: [
        ("127.0.0.1", IPAddress.v4(0x7F00_0001)), ("0.0.0.0", .v4(0)), ("255.255.255.255", .v4(0xFFFF_FFFF)),
        ("::", .v6(high: 0, low: 0)), ("::1", .v6(high: 0, low: 1)),
        ("2001:db8::ff00:42:8329", .v6(high: 0x2001_0DB8_0000_0000, low: 0x0000_FF00_0042_8329)),
        ("::ffff:192.0.2.1", .v6(high: 0, low: 0x0000_FFFF_C000_0201)),
        ("FE80::1", .v6(high: 0xFE80_0000_0000_0000, low: 1)),
    ])
    func strict(text: String, expected: IPAddress) {
        #expect(IPAddress(text) == expected)
    }

    @Test("strict parsing refuses everything else", arguments: [
        "", "localhost", "127.1", "0x7f000001", "2130706433", "0177.0.0.1", "127.0.0.1.", "256.0.0.1", "1.2.3.4.5",
        "[::1]", "fe80::1%eth0", "::1:", "1::2::3", "127.0.0.1\u{0}junk", " 127.0.0.1", "::ffff:1.2.3",
    ])
    func strictRefuses(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("URL hosts: every numeric form libcurl and the resolver accept", arguments: [
        ("127.0.0.1", "127.0.0.1"), ("127.1", "127.0.0.1"), ("127.0.1", "127.0.0.1"), ("0x7f000001", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"), ("2130706433", "127.0.0.1"), ("0177.0.0.1", "127.0.0.1"), ("017700000001", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"), ("0", "0.0.0.0"), ("0x", "0.0.0.0"), ("169.254.43518", "169.254.169.254"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"), ("2852039166", "169.254.169.254"), ("4294967295", "255.255.255.255"),
        ("[::1]", "::1"), ("::1", "::1"), ("[fe80::1%25eth0]", "fe80::1"), ("[fe80::1%eth0]", "fe80::1"),
        ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254"), ("[FD00:EC2::254]", "fd00:ec2::254"),
    ])
    func urlHost(host: String, expected: String) {
        #expect(IPAddress(urlHost: host) == IPAddress(expected), "\(host)")
    }

    @Test("URL hosts that are names, or numbers out of range, are not addresses", arguments: [
        "", "localhost", "example.com", "metadata.google.internal", "1.2.3.4.5", "256.0.0.1", "1.2.65536", "1.16777216",
        "4294967296", "08.0.0.1", "0x1g.0.0.1", "1..2.3", ".1.2.3", "1.2.3.4..", "[127.0.0.1", "[::1", "[fe80::1%]x", "1e1",
        "[::1]:80", "[example.com]",
    ])
    func urlHostNames(host: String) {
        #expect(IPAddress(urlHost: host) == nil, "\(host)")
    }

    @Test("descriptions are the canonical text forms")
    func descriptions() {
        #expect(IPAddress.v4(0xA9FE_A9FE).description == "169.254.169.254")
        #expect(IPAddress("2001:0db8:0000:0000:0000:0000:0000:0001")!.description == "2001:db8::1")
        #expect(IPAddress("::ffff:a9fe:a9fe")!.description == "::ffff:169.254.169.254")
        #expect(IPAddress("FD00:EC2::254")!.description == "fd00:ec2::254")
        #expect(IPNetwork("10.1.2.3/8")!.description == "10.0.0.0/8")
    }

    @Test("socket addresses: IPv4, IPv6, other families and short buffers")
    func socketAddresses() {
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_addr.s_addr = inet_addr("169.254.169.254")
        v4.sin_port = UInt16(80).bigEndian
        withUnsafeBytes(of: &v4) { bytes in
            #expect(IPAddress(socketAddress: bytes.baseAddress!, length: bytes.count) == IPAddress("169.254.169.254"))
            #expect(IPAddress(socketAddress: bytes.baseAddress!, length: 4) == nil)
        }
        var v6 = sockaddr_in6()
        v6.sin6_family = sa_family_t(AF_INET6)
        _ = inet_pton(AF_INET6, "fd00:ec2::254", &v6.sin6_addr)
        withUnsafeBytes(of: &v6) { bytes in
            #expect(IPAddress(socketAddress: bytes.baseAddress!, length: bytes.count) == IPAddress("fd00:ec2::254"))
            #expect(IPAddress(socketAddress: bytes.baseAddress!, length: MemoryLayout<sockaddr_in>.size) == nil)
        }
        var unix = sockaddr_un()
        unix.sun_family = sa_family_t(AF_UNIX)
        withUnsafeBytes(of: &unix) { bytes in
            #expect(IPAddress(socketAddress: bytes.baseAddress!, length: bytes.count) == nil)
        }
    }

    @Test("networks: parsing, masking and membership at the edges")
    func networks() throws {
        let ten = try #require(IPNetwork("10.0.0.0/8"))
        #expect(ten.contains(IPAddress("10.0.0.0")!))
        #expect(ten.contains(IPAddress("10.255.255.255")!))
        #expect(!ten.contains(IPAddress("11.0.0.0")!))
        #expect(!ten.contains(IPAddress("9.255.255.255")!))
        #expect(!ten.contains(IPAddress("::ffff:10.0.0.1")!), "an IPv4 block holds no IPv6 address")
        #expect(IPNetwork("10.9.8.7/8") == ten, "host bits are cleared")
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("255.255.255.255")!))
        #expect(IPNetwork("::/0")!.contains(IPAddress("ffff::1")!))
        #expect(!IPNetwork("::/0")!.contains(IPAddress("1.2.3.4")!))
        #expect(IPNetwork("1.2.3.4")!.prefixLength == 32)
        #expect(IPNetwork("::1")!.prefixLength == 128)
        let ula = try #require(IPNetwork("fc00::/7"))
        #expect(ula.contains(IPAddress("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")!))
        #expect(!ula.contains(IPAddress("fe00::")!))
        let deep = try #require(IPNetwork("2001:db8::1:0/112"))
        #expect(deep.contains(IPAddress("2001:db8::1:ffff")!))
        #expect(!deep.contains(IPAddress("2001:db8::2:0")!))
        #expect(IPNetwork("2001:db8::1/128")!.contains(IPAddress("2001:db8::1")!))
        #expect(!IPNetwork("2001:db8::1/128")!.contains(IPAddress("2001:db8::2")!))
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8/8", "10.0.0/8", "/8", "10.0.0.0/ 8", "10.0.0.0/+8"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }
}
