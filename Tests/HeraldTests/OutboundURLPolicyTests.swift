import Curl
import Herald
import Testing

@Suite("HERALD_ALLOW_PRIVATE_NETWORKS and outbound URLs (pure)")
struct OutboundURLPolicyTests {
    private static let strict = OutboundURLPolicy(allowPrivateNetworks: false)
    private static let relaxed = OutboundURLPolicy(allowPrivateNetworks: true)

    @Test("private networks are refused unless HERALD_ALLOW_PRIVATE_NETWORKS is true")
    func environment() throws {
        #expect(try HeraldConfiguration.fromEnvironment([:]).allowPrivateNetworks == false)
        #expect(HeraldConfiguration().allowPrivateNetworks == false)
        #expect(try HeraldConfiguration.fromEnvironment(["HERALD_ALLOW_PRIVATE_NETWORKS": ""]).allowPrivateNetworks == false)
        for value in ["true", "TRUE", "True", " true "] {
            #expect(try HeraldConfiguration.fromEnvironment(["HERALD_ALLOW_PRIVATE_NETWORKS": value]).allowPrivateNetworks, "\(value)")
        }
        for value in ["false", "FALSE", "False"] {
            #expect(try !HeraldConfiguration.fromEnvironment(["HERALD_ALLOW_PRIVATE_NETWORKS": value]).allowPrivateNetworks, "\(value)")
        }
    }

    @Test("any other value is a configuration error naming the variable",
          arguments: ["1", "0", "yes", "no", "on", "off", "t", "truee", "true false", "enabled"])
    func badValue(value: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try HeraldConfiguration.fromEnvironment(["HERALD_ALLOW_PRIVATE_NETWORKS": value])
        }
        #expect(error?.description == "HERALD_ALLOW_PRIVATE_NETWORKS must be true or false")
    }

    @Test("the configuration yields the matching URL and address policies")
    func fromConfiguration() {
        let on = HeraldConfiguration(allowPrivateNetworks: true)
        #expect(on.outboundURLPolicy == Self.relaxed)
        #expect(on.outboundURLPolicy.addressPolicy == AddressPolicy(allowPrivateNetworks: true))
        #expect(HeraldConfiguration().outboundURLPolicy.addressPolicy == AddressPolicy(allowPrivateNetworks: false))
    }

    @Test("metadata services and link-local addresses are refused whatever the setting", arguments: [
        "http://169.254.169.254/latest/meta-data/", "http://169.254.169.254", "https://169.254.0.1:8443/x",
        "http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/", "http://[fd00:ec2::254]/", "http://[FD20:CE::254]/",
        "http://[fe80::1%25eth0]/", "http://100.100.100.200/", "http://2852039166/", "http://0xa9fea9fe/",
        "http://169.254.43518/", "http://metadata.google.internal/computeMetadata/v1/", "http://METADATA.google.internal./",
        "http://metadata/computeMetadata/v1/", "http://metadata.goog/", "http://instance-data/latest/",
        "http://user:pass@169.254.169.254/", "http://169.254.169.254:80/",
    ])
    func alwaysRefused(url: String) {
        for policy in [Self.strict, Self.relaxed] {
            let error = #expect(throws: HeraldError.self) { try policy.check(url, field: "config.base_url") }
            #expect(error?.code == .validationFailed, "\(url)")
            #expect(error?.field == "config.base_url")
            #expect(error?.message == "must not point at a cloud metadata service or a link-local address", "\(url)")
        }
    }

    @Test("loopback, private and other non-public addresses are refused only without private networks", arguments: [
        "http://127.0.0.1:8080/sim", "http://127.1/", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/",
        "http://localhost:9000/", "http://LOCALHOST/", "http://api.localhost/", "http://localhost./",
        "http://[::1]:8080/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://[::]/",
        "http://10.0.0.5/", "http://172.16.0.1/", "http://172.31.255.255/", "http://192.168.1.10/",
        "http://100.64.0.1/", "http://[fd12:3456::1]/", "http://224.0.0.1/", "http://255.255.255.255/", "http://240.0.0.1/",
    ])
    func privateRefused(url: String) throws {
        let error = #expect(throws: HeraldError.self) { try Self.strict.check(url, field: "events_url") }
        #expect(error?.code == .validationFailed, "\(url)")
        #expect(error?.field == "events_url")
        #expect(error?.message.contains("HERALD_ALLOW_PRIVATE_NETWORKS=true") == true, "\(url)")
        try Self.relaxed.check(url, field: "events_url")
    }

    @Test("public addresses and ordinary host names pass", arguments: [
        "https://api.twilio.com", "https://rest.nexmo.com/sms/json", "https://xxxxx.api.infobip.com", "http://8.8.8.8/",
        "http://172.32.0.1/", "http://172.15.255.255/", "http://169.255.0.1/", "http://100.128.0.1/", "http://[2001:4860::8888]/",
        "https://metadata.example.com/", "https://my-metadata/", "https://localhost.example.com/", "https://example.com/localhost",
        "https://example.com/?next=http://169.254.169.254/",
    ])
    func allowed(url: String) throws {
        try Self.strict.check(url, field: "config.url")
        try Self.relaxed.check(url, field: "config.url")
    }

    @Test("what is not a URL with a host is left to the field's own validation", arguments: [
        "", "not a url", "mailto:ops@example.com", "/relative/path",
    ])
    func notAURL(url: String) throws {
        #expect(Self.strict.refusal(of: url) == nil)
    }
}
