import Foundation
import SMS
import Testing
@testable import Herald

/// The pure rules of verification codes: texts, markers, payment binding, cooldowns, the
/// fraud guard's judgement and the codes themselves. No database.
@Suite struct VerificationRulesTests {
    static let texts: VerificationTexts = try! VerificationTexts.load(directory: repositoryRoot + "/templates/verification")
    static let payment = PaymentDetails(amount: "12.50", currency: "EUR", payee: "ACME Ltd")

    static func rendered(_ purpose: VerificationPurpose, _ channel: MessageChannel, _ locale: String) -> String {
        CodeText.render(texts.render(purpose: purpose, channel: channel, locale: locale, brand: "Herald", lifetime: 600,
                                     payment: purpose == .payment ? payment : nil), code: "123456")
    }

    @Test("texts exist for every purpose × channel in at least the ten required locales")
    func everyText() {
        let required = ["en", "es", "fr", "de", "pt", "zh", "ar", "hi", "ru", "ja"]
        for locale in required {
            #expect(Self.texts.locales[locale] != nil, "no texts for \(locale)")
            for purpose in VerificationPurpose.allCases {
                let sms = Self.rendered(purpose, .sms, locale)
                #expect(sms.contains("123456"), "\(locale) sms \(purpose): no code")
                #expect(sms.contains("Herald"), "\(locale) sms \(purpose): no brand")
                #expect(sms.contains("10"), "\(locale) sms \(purpose): no lifetime")
                let voice = Self.rendered(purpose, .voice, locale)
                #expect(voice.components(separatedBy: "1, 2, 3, 4, 5, 6").count == 3, "\(locale) voice \(purpose): the code is spoken twice, digit by digit")
                #expect(!voice.contains("123456"))
                if purpose == .payment {
                    for text in [sms, voice] {
                        #expect(text.contains("12.50") && text.contains("EUR") && text.contains("ACME Ltd"), "\(locale) \(purpose): payment details")
                    }
                }
            }
            #expect(Self.texts.ttsLanguage(locale).hasPrefix(locale), "\(locale): its TTS language")
        }
    }

    /// The SMS texts that cannot fit one segment in their script: payment texts that carry a
    /// payee in a UCS-2 script with long words (70 units for everything). Every other one fits.
    static let multiSegment: Set<String> = ["pt.payment", "ru.payment", "hi.payment"]

    @Test("SMS texts fit one segment in their script, except the payment texts listed")
    func oneSegment() {
        var over: Set<String> = []
        for (locale, _) in Self.texts.locales {
            for purpose in VerificationPurpose.allCases {
                let text = MessageText(Self.rendered(purpose, .sms, locale))
                if text.segments > 1 { over.insert("\(locale).\(purpose.rawValue)") }
            }
        }
        #expect(over == Self.multiSegment)
    }

    @Test("locales fall back to their language, then English")
    func localeFallback() {
        #expect(Self.texts.resolve("pt-BR") == "pt")
        #expect(Self.texts.resolve("DE_at") == "de")
        #expect(Self.texts.resolve("xx") == "en")
        #expect(Self.texts.resolve(nil) == "en")
        #expect(Self.texts.resolve("not a tag") == "en")
    }

    @Test("a text is checked: its code, known placeholders, payment details")
    func textProblems() {
        #expect(VerificationTexts.problem(in: "Code {code}", purpose: .login, channel: .sms) == nil)
        #expect(VerificationTexts.problem(in: "Code {code_spoken}", purpose: .login, channel: .sms) != nil)
        #expect(VerificationTexts.problem(in: "Code {code} {nope}", purpose: .login, channel: .sms)?.contains("{nope}") == true)
        #expect(VerificationTexts.problem(in: "Code {code} for {amount}", purpose: .payment, channel: .sms) != nil)
        #expect(VerificationTexts.problem(in: "{code_spoken} {amount} {currency} {payee}", purpose: .payment, channel: .voice) == nil)
        #expect(VerificationTexts.problem(in: "Code {code} \u{E000}", purpose: .login, channel: .sms) != nil)
    }

    @Test("inserted values are never read as placeholders or markers")
    func noInjection() {
        let hostile = PaymentDetails(amount: "1", currency: "EUR", payee: "{code} \u{E000}\u{E001}")
        let body = Self.texts.render(purpose: .payment, channel: .sms, locale: "en", brand: "{payee}", lifetime: 60, payment: hostile)
        let sent = CodeText.render(body, code: "987654")
        #expect(sent.components(separatedBy: "987654").count == 2, "the code appears once, where the text puts it")
        #expect(sent.contains("{code}"), "the payee is shown as given")
        #expect(sent.contains("{payee}"), "the brand is shown as given")
    }

    @Test("markers: rendered at submission, masked for readers")
    func markers() {
        let body = "Code \(Character(CodeText.digits)). Say \(Character(CodeText.spoken))."
        #expect(CodeText.render(body, code: "4821") == "Code 4821. Say 4, 8, 2, 1.")
        #expect(CodeText.masked(body, length: 4) == "Code ••••. Say ••••.")
        #expect(CodeText.masked("plain", length: 6) == "plain")
        #expect(CodeText.stripMarkers("a\u{E000}b\u{E001}c") == "abc")
    }

    @Test("payment amounts have one canonical form; bad ones are refused")
    func amounts() {
        for (input, canonical) in [("12.50", "12.5"), ("12.5", "12.5"), ("0012", "12"), ("0.10", "0.1"), ("7", "7"), ("1.0000", "1")] {
            #expect(PaymentRules.canonicalAmount(input) == canonical, "\(input)")
        }
        for bad in ["", "0", "0.00", "-1", "1e3", "1,50", "1.", ".5", "1.23456", "12 50", "１２", String(repeating: "9", count: 16)] {
            #expect(PaymentRules.canonicalAmount(bad) == nil, "\(bad)")
        }
        #expect(throws: HeraldError.self) { try PaymentRules.validate(PaymentInput(amount: "1", currency: "EURO", payee: "x")) }
        #expect(throws: HeraldError.self) { try PaymentRules.validate(PaymentInput(amount: "1", currency: "EUR", payee: "  ")) }
        #expect(throws: HeraldError.self) { try PaymentRules.validate(PaymentInput(amount: "1", currency: "EUR", payee: "a\u{7}b")) }
        // One form per payee: NFC and trimmed.
        let composed = try? PaymentRules.validate(PaymentInput(amount: "1", currency: "eur", payee: " Cafe\u{301} "))
        #expect(composed == PaymentDetails(amount: "1", currency: "EUR", payee: "Café"))
    }

    @Test("the resend cooldown doubles from the base, capped at a day")
    func cooldown() {
        #expect((1...5).map { ResendPolicy.cooldown(afterSend: $0, base: 30) } == [30, 60, 120, 240, 480])
        #expect(ResendPolicy.cooldown(afterSend: 40, base: 30) == 86_400)
    }

    @Test("the fraud guard judges only a prefix with enough sends and too few approvals")
    func fraudGuard() {
        let rule = FraudGuard(minimumSends: 20, maximumConversionPercent: 10, blockMinutes: 60)
        #expect(!rule.shouldBlock(created: 19, approved: 0))
        #expect(rule.shouldBlock(created: 20, approved: 0))
        #expect(rule.shouldBlock(created: 20, approved: 2))
        #expect(!rule.shouldBlock(created: 20, approved: 3))
        #expect(!rule.shouldBlock(created: 1000, approved: 900))
        #expect(NumberPrefix.of("+14155550123") == "+1415555")
        #expect(NumberPrefix.of("+12345") == "+123", "a short number keeps at least four characters")
    }

    @Test("codes are digits of the requested length, every digit equally likely")
    func codes() {
        var counts = [Int](repeating: 0, count: 10)
        for length in 4...10 { #expect(VerificationCodes.generate(length: length).count == length) }
        for _ in 0..<10_000 {
            for digit in VerificationCodes.generate(length: 6) { counts[Int(String(digit))!] += 1 }
        }
        // 60,000 digits: each near 6,000; 5,400–6,600 is more than seven standard deviations.
        #expect(counts.allSatisfy { (5_400...6_600).contains($0) }, "\(counts)")
    }

    @Test("the MAC binds the code to its verification and payment, under the server secret")
    func mac() {
        let codes = VerificationCodes(secret: ServerSecret("one-secret-of-sufficient-length"))
        let other = VerificationCodes(secret: ServerSecret("another-secret-of-sufficient-length"))
        let id = UUID()
        let mac = codes.mac(id: id, code: "123456", payment: Self.payment)
        #expect(codes.matches(mac, id: id, code: "123456", payment: Self.payment))
        #expect(codes.matches(mac, id: id, code: "123456", payment: PaymentDetails(amount: "12.5", currency: "EUR", payee: "ACME Ltd")))
        #expect(!codes.matches(mac, id: id, code: "123457", payment: Self.payment))
        #expect(!codes.matches(mac, id: UUID(), code: "123456", payment: Self.payment))
        #expect(!codes.matches(mac, id: id, code: "123456", payment: nil))
        #expect(!codes.matches(mac, id: id, code: "123456", payment: PaymentDetails(amount: "12.51", currency: "EUR", payee: "ACME Ltd")))
        #expect(!codes.matches(mac, id: id, code: "123456", payment: PaymentDetails(amount: "12.50", currency: "USD", payee: "ACME Ltd")))
        #expect(!other.matches(mac, id: id, code: "123456", payment: Self.payment))
    }

    @Test("a sealed code opens only for its message and under its secret")
    func seal() throws {
        let seal = CodeSeal(secret: ServerSecret("one-secret-of-sufficient-length"))
        let id = UUID()
        let sealed = try seal.seal("123456", messageID: id)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("123456"))
        #expect(seal.open(sealed, messageID: id) == "123456")
        #expect(seal.open(sealed, messageID: UUID()) == nil)
        #expect(CodeSeal(secret: ServerSecret("another-secret-of-sufficient-length")).open(sealed, messageID: id) == nil)
    }

    @Test("settings: text overrides are checked like the shipped texts; the fraud guard's numbers are bounded")
    func settings() throws {
        let ok = try Settings().merged(with: ["verification": .object(["texts": .object(["sms.login.en": .string("{brand}: {code}")])])])
        #expect(ok.verification.texts["sms.login.en"] == "{brand}: {code}")
        #expect(throws: HeraldError.self) {
            try Settings().merged(with: ["verification": .object(["texts": .object(["sms.login.en": .string("no code")])])])
        }
        #expect(throws: HeraldError.self) {
            try Settings().merged(with: ["verification": .object(["texts": .object(["fax.login.en": .string("{code}")])])])
        }
        #expect(throws: HeraldError.self) {
            try Settings().merged(with: ["verification": .object(["fraud_max_conversion_percent": .number(101)])])
        }
    }
}
