import Foundation
import SMS

/// The texts of code messages: one per purpose × channel × locale, from
/// `templates/verification/<locale>.json`, with the locale's text-to-speech language.
///
/// Placeholders: `{code}` (SMS) or `{code_spoken}` (voice, digit by digit), `{brand}`,
/// `{minutes}`, and for payments `{amount}`, `{currency}`, `{payee}`. Rendering puts
/// ``CodeText`` markers where the code goes; the code itself is put in only at submission.
public struct VerificationTexts: Sendable {
    public struct Locale: Sendable, Equatable {
        public var ttsLanguage: String
        public var sms: [VerificationPurpose: String]
        public var voice: [VerificationPurpose: String]

        public func text(_ purpose: VerificationPurpose, channel: MessageChannel) -> String {
            (channel == .sms ? sms : voice)[purpose]!
        }
    }

    public static let defaultLocale = "en"
    public static let placeholders: Set<String> = ["code", "code_spoken", "brand", "minutes", "amount", "currency", "payee"]

    public let locales: [String: Locale]

    public init(locales: [String: Locale]) { self.locales = locales }

    /// Loads every `<locale>.json` of `directory`; a missing text, an unknown placeholder or a
    /// text without its code is an error naming the file (Herald does not start with it).
    public static func load(directory: String) throws -> VerificationTexts {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var locales: [String: Locale] = [:]
        for file in files.sorted() where file.hasSuffix(".json") {
            let tag = String(file.dropLast(5))
            guard let data = FileManager.default.contents(atPath: directory + "/" + file),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let tts = object["tts_language"] as? String,
                  let sms = object["sms"] as? [String: String], let voice = object["voice"] as? [String: String]
            else { throw ConfigurationError("\(directory)/\(file): not a verification text file (tts_language, sms, voice)") }
            var locale = Locale(ttsLanguage: tts, sms: [:], voice: [:])
            for purpose in VerificationPurpose.allCases {
                for channel in MessageChannel.allCases {
                    let where_ = "\(file): \(channel.rawValue).\(purpose.rawValue)"
                    guard let text = (channel == .sms ? sms : voice)[purpose.rawValue] else {
                        throw ConfigurationError("\(where_) is missing")
                    }
                    if let problem = problem(in: text, purpose: purpose, channel: channel) {
                        throw ConfigurationError("\(where_): \(problem)")
                    }
                    if channel == .sms { locale.sms[purpose] = text } else { locale.voice[purpose] = text }
                }
            }
            locales[tag] = locale
        }
        guard locales[defaultLocale] != nil else {
            throw ConfigurationError("\(directory)/\(defaultLocale).json is missing: verification codes need the English texts")
        }
        return VerificationTexts(locales: locales)
    }

    /// What is wrong with a text for `purpose` on `channel`, or nil (also checks admins' overrides).
    public static func problem(in text: String, purpose: VerificationPurpose, channel: MessageChannel) -> String? {
        let names = placeholderNames(in: text)
        if let unknown = names.first(where: { !placeholders.contains($0) }) {
            return "{\(unknown)} is not a placeholder (use \(placeholders.sorted().map { "{\($0)}" }.joined(separator: ", ")))"
        }
        let code = channel == .sms ? "code" : "code_spoken"
        guard names.contains(code) else { return "the text must contain {\(code)}" }
        if purpose == .payment, !(names.contains("amount") && names.contains("currency") && names.contains("payee")) {
            return "a payment text must show {amount}, {currency} and {payee}"
        }
        if CodeText.hasMarker(text) { return "the text contains a reserved character" }
        guard text.unicodeScalars.count <= 600 else { return "the text is longer than 600 characters" }
        return nil
    }

    /// The locale whose texts a request gets: the tag, then its language, then English.
    /// `overridden`: locales an admin wrote texts for (`sms.login.it`), which count too: a
    /// purpose or channel without a text there falls back to English when rendered.
    public func resolve(_ tag: String?, overridden: some Sequence<String> = [String]()) -> String {
        LocaleFallback.resolve(tag, among: Array(locales.keys) + Array(overridden)) ?? Self.defaultLocale
    }

    /// The body of a code message, with the code's place marked (``CodeText``), never the code.
    /// `override` is an admin's text for this purpose, channel and locale.
    public func render(
        purpose: VerificationPurpose, channel: MessageChannel, locale: String, brand: String, lifetime: TimeInterval,
        payment: PaymentDetails?, override: String? = nil
    ) -> String {
        let template = override ?? (locales[locale] ?? locales[Self.defaultLocale]!).text(purpose, channel: channel)
        let minutes = max(1, Int((lifetime / 60).rounded(.up)))
        let values: [String: String] = [
            "code": String(Character(CodeText.digits)),
            "code_spoken": String(Character(CodeText.spoken)),
            "brand": CodeText.stripMarkers(brand),
            "minutes": String(minutes),
            "amount": payment?.amount ?? "",
            "currency": payment?.currency ?? "",
            "payee": payment.map { CodeText.stripMarkers($0.payee) } ?? "",
        ]
        return Self.substitute(template, values)
    }

    /// The text-to-speech language of a locale's voice texts (`en-US`).
    public func ttsLanguage(_ locale: String) -> String {
        (locales[locale] ?? locales[Self.defaultLocale]!).ttsLanguage
    }

    /// One pass over the template: inserted values are never scanned for placeholders again.
    static func substitute(_ template: String, _ values: [String: String]) -> String {
        var result = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                result += value
                rest = after[after.index(after: close)...]
            } else {
                result += "{"
                rest = after
            }
        }
        return result + rest
    }

    static func placeholderNames(in text: String) -> Set<String> {
        var names = Set<String>()
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.count <= 30, name.allSatisfy({ $0.isLetter || $0 == "_" }) { names.insert(String(name)) }
            rest = after[after.index(after: close)...]
        }
        return names
    }
}
