import Foundation
import Herald
import Testing

@Suite("Identity rules, tokens, cursors and configuration (pure)")
struct DomainTests {
    @Test("tokens are base62 of the asked length and never repeat")
    func tokens() {
        let tokens = (0..<2000).map { _ in Tokens.base62(length: 43) }
        #expect(Set(tokens).count == tokens.count)
        #expect(tokens.allSatisfy { $0.count == 43 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } })
        // Every symbol of the alphabet shows up: no modulo bias that drops characters.
        #expect(Set(tokens.joined()).count == 62)
    }

    @Test("e-mails are trimmed and lower-cased; junk is refused", arguments: [
        (" Ops@Example.COM ", "ops@example.com"), ("admin@localhost", "admin@localhost"), ("a.b+c@d-e.fg", "a.b+c@d-e.fg"),
    ])
    func goodEmail(input: String, expected: String) throws {
        #expect(try IdentityValidation.email(input) == expected)
    }

    @Test("bad e-mails name the field", arguments: [
        "", "plain", "@x.y", "x@", "a@b@c", "a b@c.d", "a@.b", "a@b.", "a@b..c", "<a@b.c>", "a@b\u{0}.c",
        String(repeating: "a", count: 65) + "@b.c", "a@" + String(repeating: "b", count: 260),
    ])
    func badEmail(input: String) {
        #expect(throws: HeraldError.validation("email", "must be an e-mail address")) { try IdentityValidation.email(input) }
    }

    @Test("passwords: 12 characters to 72 bytes, no control characters")
    func passwords() throws {
        try IdentityValidation.password("twelve chars")
        try IdentityValidation.password(String(repeating: "a", count: 72))
        for bad in ["eleven char", String(repeating: "a", count: 73), String(repeating: "ü", count: 37), "tab\there password"] {
            #expect(throws: HeraldError.self) { try IdentityValidation.password(bad) }
        }
    }

    @Test("scopes: known, deduplicated, sorted; the bad one is pointed at")
    func scopes() throws {
        #expect(try IdentityValidation.scopes(["admin", "messages", "messages"]) == [.messages, .admin])
        #expect(throws: HeraldError.validation("scopes[1]", "must be one of verifications, messages, contacts, campaigns, admin")) {
            try IdentityValidation.scopes(["messages", "root"])
        }
        #expect(throws: HeraldError.self) { try IdentityValidation.scopes([]) }
    }

    @Test("names are trimmed, 1 to 100 characters")
    func names() throws {
        #expect(try IdentityValidation.name("  ci  ") == "ci")
        #expect(throws: HeraldError.self) { try IdentityValidation.name(" \n ") }
        #expect(throws: HeraldError.self) { try IdentityValidation.name(String(repeating: "n", count: 101)) }
        #expect(throws: HeraldError.self) { try IdentityValidation.name("bell\u{7}") }
    }

    @Test("admin implies every scope; viewers are read-only; marketers lack admin")
    func principals() {
        let now = Date()
        func user(_ role: Role) -> Principal {
            .user(User(id: UUID(), email: "x@y", role: role, disabled: false, createdAt: now, lastLoginAt: nil))
        }
        for scope in Scope.allCases { #expect(user(.admin).allows(scope, write: true)) }
        #expect(user(.viewer).allows(.contacts, write: false))
        #expect(!user(.viewer).allows(.contacts, write: true))
        #expect(!user(.viewer).allows(.admin, write: false))
        #expect(user(.marketer).allows(.campaigns, write: true))
        #expect(!user(.marketer).allows(.admin, write: false))
        let key = Principal(kind: .apiKey(id: UUID(), name: "k"), scopes: [.admin])
        #expect(key.allows(.verifications, write: true))
        let narrow = Principal(kind: .apiKey(id: UUID(), name: "k"), scopes: [.messages])
        #expect(!narrow.allows(.verifications, write: false))
    }

    @Test("cursors round-trip and damaged ones are validation errors")
    func cursors() throws {
        let cursor = ListCursor(createdAtMicroseconds: 1_796_000_000_123_456, id: UUID())
        #expect(try ListCursor(decoding: cursor.encoded) == cursor)
        #expect(!cursor.encoded.contains("="))
        for bad in ["", "!!!", "bm90LWEtY3Vyc29y", String(repeating: "A", count: 300), "MTIzOm5vdC1hLXV1aWQ"] {
            #expect(throws: HeraldError.self) { try ListCursor(decoding: bad) }
        }
        #expect(try ListLimit.parse(nil) == 50)
        #expect(try ListLimit.parse("500") == 500)
        for bad in ["0", "501", "-1", "1.5", "ten"] { #expect(throws: HeraldError.self) { try ListLimit.parse(bad) } }
    }

    @Test("configuration comes from the documented variables; bad values are named")
    func configuration() throws {
        let configuration = try HeraldConfiguration.fromEnvironment([
            "DATABASE_URL": "postgres://u@h/db", "HERALD_DATA_DIR": "/tmp/h", "HERALD_SECRET": "s3cret-s3cret-s3cret",
            "HERALD_HOST": "0.0.0.0", "HERALD_PORT": "9000", "LOG_LEVEL": "DEBUG",
        ])
        #expect(configuration.databaseURL == "postgres://u@h/db")
        #expect(configuration.dataDirectory == "/tmp/h")
        #expect(configuration.port == 9000)
        #expect(configuration.logLevel == .debug)
        #expect(configuration.resolvedPublicURL == "http://127.0.0.1:9000")
        let defaults = try HeraldConfiguration.fromEnvironment([:])
        #expect(defaults.databaseURL == nil && defaults.dataDirectory == ".herald" && defaults.port == 8080)
        #expect(try HeraldConfiguration.fromEnvironment(["HERALD_PUBLIC_URL": "https://sms.example.com/"]).resolvedPublicURL
            == "https://sms.example.com")
        #expect(throws: ConfigurationError.self) { try HeraldConfiguration.fromEnvironment(["HERALD_PORT": "http"]) }
        #expect(throws: ConfigurationError.self) { try HeraldConfiguration.fromEnvironment(["HERALD_PORT": "70000"]) }
        #expect(throws: ConfigurationError.self) { try HeraldConfiguration.fromEnvironment(["LOG_LEVEL": "loud"]) }
    }

    @Test("the secret is generated once in embedded mode and required with an external database")
    func secret() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let embedded = HeraldConfiguration(dataDirectory: dir)
        let first = try ServerSecret.load(configuration: embedded)
        let second = try ServerSecret.load(configuration: embedded)
        #expect(first.key == second.key)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/secret")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: ConfigurationError.self) {
            try ServerSecret.load(configuration: HeraldConfiguration(databaseURL: "postgres://x/y", dataDirectory: dir))
        }
        #expect(throws: ConfigurationError.self) {
            try ServerSecret.load(configuration: HeraldConfiguration(dataDirectory: dir, secret: "short"))
        }
        let purposes = ServerSecret("0123456789abcdef")
        #expect(purposes.derivedKey(purpose: "a") != purposes.derivedKey(purpose: "b"))
    }
}
