import Foundation
import Phone
import Providers
import SMS

/// The settings document of `GET|PATCH /v1/settings` (API.md), with its defaults.
public struct Settings: Sendable, Equatable {
    public struct Verification: Sendable, Equatable {
        public var codeLength = 6
        public var ttlSeconds = 600
        public var paymentTTLSeconds = 300
        public var maxChecks = 5
        public var maxSends = 5
        public var resendCooldownSeconds = 30
        public var perNumberPerHour = 5
        public var perIPPerHour = 20
        public var perPrefixPerHour = 50
        public var perCountryPerHour = 1000
        public var testNumbers: [String: String] = [:]
        /// The fraud guard: with at least this many codes for one number prefix in an hour…
        public var fraudMinimumSends = 20
        /// …and at most this percentage of them approved, the prefix is blocked…
        public var fraudMaximumConversionPercent = 10
        /// …for this long.
        public var fraudBlockMinutes = 60
        /// Admins' texts in place of the shipped ones, keyed `<channel>.<purpose>.<locale>`.
        public var texts: [String: String] = [:]

        /// The key of ``texts`` for one text.
        public static func textKey(channel: MessageChannel, purpose: VerificationPurpose, locale: String) -> String {
            "\(channel.rawValue).\(purpose.rawValue).\(locale)"
        }
    }

    public struct QuietHours: Sendable, Equatable {
        /// Minutes after midnight.
        public var start: Int
        public var end: Int
    }

    public struct FrequencyCap: Sendable, Equatable {
        public var max: Int
        public var windowHours: Int
    }

    public struct Keywords: Sendable, Equatable {
        public var keywords: [String]
        public var reply: String
    }

    public var brand = "Herald"
    public var allowedCountries: [String] = []
    public var verification = Verification()
    public var quietHours: QuietHours? = QuietHours(start: 21 * 60, end: 8 * 60)
    public var frequencyCap: FrequencyCap? = nil
    public var optOut = Keywords(keywords: KeywordSet().optOut, reply: "")
    public var optIn = Keywords(keywords: KeywordSet().optIn, reply: "")
    public var help = Keywords(keywords: KeywordSet().help, reply: "")
    public var marketingFooter = "Reply STOP to opt out"
    public var eventsURL: String? = nil

    public init() {}

    public var keywordSet: KeywordSet {
        KeywordSet(optOut: optOut.keywords, optIn: optIn.keywords, help: help.keywords)
    }

    public func allows(country: String?) -> Bool {
        allowedCountries.isEmpty || (country.map(allowedCountries.contains) ?? false)
    }
}

// MARK: JSON form

extension Settings {
    /// The document as the API shows it.
    public var json: [String: JSONValue] {
        func hhmm(_ minutes: Int) -> JSONValue { .string(String(format: "%02d:%02d", minutes / 60, minutes % 60)) }
        func number(_ value: Int) -> JSONValue { .number(Double(value)) }
        func keywords(_ k: Keywords) -> JSONValue { .object(["keywords": .array(k.keywords.map(JSONValue.string)), "reply": .string(k.reply)]) }
        return [
            "brand": .string(brand),
            "allowed_countries": .array(allowedCountries.map(JSONValue.string)),
            "verification": .object([
                "code_length": number(verification.codeLength), "ttl_seconds": number(verification.ttlSeconds),
                "payment_ttl_seconds": number(verification.paymentTTLSeconds), "max_checks": number(verification.maxChecks),
                "max_sends": number(verification.maxSends), "resend_cooldown_seconds": number(verification.resendCooldownSeconds),
                "per_number_per_hour": number(verification.perNumberPerHour), "per_ip_per_hour": number(verification.perIPPerHour),
                "per_prefix_per_hour": number(verification.perPrefixPerHour), "per_country_per_hour": number(verification.perCountryPerHour),
                "test_numbers": .object(verification.testNumbers.mapValues(JSONValue.string)),
                "fraud_min_sends": number(verification.fraudMinimumSends),
                "fraud_max_conversion_percent": number(verification.fraudMaximumConversionPercent),
                "fraud_block_minutes": number(verification.fraudBlockMinutes),
                "texts": .object(verification.texts.mapValues(JSONValue.string)),
            ]),
            "quiet_hours": quietHours.map { .object(["start": hhmm($0.start), "end": hhmm($0.end)]) } ?? .null,
            "frequency_cap": frequencyCap.map { .object(["max": number($0.max), "window_hours": number($0.windowHours)]) } ?? .null,
            "opt_out": keywords(optOut), "opt_in": keywords(optIn), "help": keywords(help),
            "marketing_footer": .string(marketingFooter),
            "events_url": eventsURL.map(JSONValue.string) ?? .null,
        ]
    }

    /// Reads a whole document (defaults merged in already), checking every value.
    /// Errors name the field as a JSON path.
    public init(json: [String: JSONValue]) throws(HeraldError) {
        self.init()
        let known: Set<String> = ["brand", "allowed_countries", "verification", "quiet_hours", "frequency_cap", "opt_out", "opt_in",
                                  "help", "marketing_footer", "events_url"]
        for key in json.keys where !known.contains(key) { throw .validation(key, "is not a setting") }
        let r = Reader(json)
        brand = try r.string("brand", max: 60, allowEmpty: false)
        allowedCountries = try r.countries("allowed_countries")
        let v = try r.object("verification")
        let vKnown: Set<String> = ["code_length", "ttl_seconds", "payment_ttl_seconds", "max_checks", "max_sends", "resend_cooldown_seconds",
                                   "per_number_per_hour", "per_ip_per_hour", "per_prefix_per_hour", "per_country_per_hour", "test_numbers",
                                   "fraud_min_sends", "fraud_max_conversion_percent", "fraud_block_minutes", "texts"]
        for key in v.values.keys where !vKnown.contains(key) { throw .validation("verification.\(key)", "is not a setting") }
        verification.codeLength = try v.int("code_length", 4...10)
        verification.ttlSeconds = try v.int("ttl_seconds", 1...3600)
        verification.paymentTTLSeconds = try v.int("payment_ttl_seconds", 1...3600)
        verification.maxChecks = try v.int("max_checks", 1...1000)
        verification.maxSends = try v.int("max_sends", 1...1000)
        verification.resendCooldownSeconds = try v.int("resend_cooldown_seconds", 1...86400)
        verification.perNumberPerHour = try v.int("per_number_per_hour", 1...1_000_000)
        verification.perIPPerHour = try v.int("per_ip_per_hour", 1...1_000_000)
        verification.perPrefixPerHour = try v.int("per_prefix_per_hour", 1...1_000_000)
        verification.perCountryPerHour = try v.int("per_country_per_hour", 1...100_000_000)
        verification.testNumbers = try v.testNumbers("test_numbers", codeLength: verification.codeLength)
        verification.fraudMinimumSends = try v.int("fraud_min_sends", 1...1_000_000)
        verification.fraudMaximumConversionPercent = try v.int("fraud_max_conversion_percent", 0...100)
        verification.fraudBlockMinutes = try v.int("fraud_block_minutes", 1...10_080)
        verification.texts = try v.verificationTexts("texts")
        if let q = try r.optionalObject("quiet_hours") {
            quietHours = QuietHours(start: try q.time("start"), end: try q.time("end"))
        } else { quietHours = nil }
        if let f = try r.optionalObject("frequency_cap") {
            frequencyCap = FrequencyCap(max: try f.int("max", 1...10_000), windowHours: try f.int("window_hours", 1...8760))
        } else { frequencyCap = nil }
        optOut = try r.keywords("opt_out")
        optIn = try r.keywords("opt_in")
        help = try r.keywords("help")
        marketingFooter = try r.string("marketing_footer", max: 160, allowEmpty: true)
        eventsURL = try r.url("events_url")
    }

    /// Applies a PATCH: objects merge key by key, everything else replaces.
    public func merged(with patch: [String: JSONValue]) throws(HeraldError) -> Settings {
        func merge(_ base: [String: JSONValue], _ patch: [String: JSONValue]) -> [String: JSONValue] {
            var result = base
            for (key, value) in patch {
                if case .object(let inner) = value, case .object(let existing)? = base[key], key != "test_numbers", key != "texts" {
                    result[key] = .object(merge(existing, inner))
                } else {
                    result[key] = value
                }
            }
            return result
        }
        return try Settings(json: merge(json, patch))
    }
}

/// Typed reads of a JSON object with field paths in the errors.
private struct Reader {
    var values: [String: JSONValue]
    var prefix: String

    init(_ values: [String: JSONValue], prefix: String = "") {
        self.values = values
        self.prefix = prefix
    }

    func path(_ key: String) -> String { prefix.isEmpty ? key : prefix + "." + key }

    func string(_ key: String, max: Int, allowEmpty: Bool) throws(HeraldError) -> String {
        guard case .string(let value)? = values[key] else { throw .validation(path(key), "must be a string") }
        guard value.count <= max, allowEmpty || !value.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw .validation(path(key), allowEmpty ? "must be at most \(max) characters" : "must be 1–\(max) characters")
        }
        return value
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws(HeraldError) -> Int {
        guard case .number(let value)? = values[key], value.rounded() == value, value >= Double(range.lowerBound), value <= Double(range.upperBound)
        else { throw .validation(path(key), "must be a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return Int(value)
    }

    func object(_ key: String) throws(HeraldError) -> Reader {
        guard case .object(let value)? = values[key] else { throw .validation(path(key), "must be an object") }
        return Reader(value, prefix: path(key))
    }

    func optionalObject(_ key: String) throws(HeraldError) -> Reader? {
        switch values[key] {
        case .null?, nil: return nil
        case .object(let value)?: return Reader(value, prefix: path(key))
        default: throw .validation(path(key), "must be an object or null")
        }
    }

    func countries(_ key: String) throws(HeraldError) -> [String] {
        guard case .array(let items)? = values[key], items.count <= 300 else { throw .validation(path(key), "must be a list of country codes") }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let raw) = item, raw.count == 2, PhoneNumberParser.isValidRegion(raw.uppercased()) else {
                throw .validation("\(path(key))[\(index)]", "must be an ISO 3166 alpha-2 country code")
            }
            if !result.contains(raw.uppercased()) { result.append(raw.uppercased()) }
        }
        return result
    }

    func time(_ key: String) throws(HeraldError) -> Int {
        guard case .string(let text)? = values[key] else { throw .validation(path(key), "must be a time like 21:00") }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]),
              (0...23).contains(hours), (0...59).contains(minutes)
        else { throw .validation(path(key), "must be a time like 21:00") }
        return hours * 60 + minutes
    }

    func keywords(_ key: String) throws(HeraldError) -> Settings.Keywords {
        let object = try self.object(key)
        for inner in object.values.keys where inner != "keywords" && inner != "reply" {
            throw .validation("\(path(key)).\(inner)", "is not a setting")
        }
        guard case .array(let items)? = object.values["keywords"], (1...50).contains(items.count) else {
            throw .validation("\(path(key)).keywords", "must be a list of 1–50 words")
        }
        var words: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let word) = item, (1...30).contains(word.trimmingCharacters(in: .whitespaces).count) else {
                throw .validation("\(path(key)).keywords[\(index)]", "must be a word of 1–30 characters")
            }
            words.append(word.trimmingCharacters(in: .whitespaces).uppercased())
        }
        return Settings.Keywords(keywords: words, reply: try object.string("reply", max: 640, allowEmpty: true))
    }

    func url(_ key: String) throws(HeraldError) -> String? {
        switch values[key] {
        case .null?, nil: return nil
        case .string(let text)?:
            guard text.count <= 2000, let url = URL(string: text), let scheme = url.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", url.host?.isEmpty == false
            else { throw .validation(path(key), "must be an http or https URL, or null") }
            return text
        default: throw .validation(path(key), "must be an http or https URL, or null")
        }
    }

    /// Text overrides: `<channel>.<purpose>.<locale>` → a text with the placeholders of
    /// ``VerificationTexts`` (checked as the shipped texts are).
    func verificationTexts(_ key: String) throws(HeraldError) -> [String: String] {
        guard case .object(let object)? = values[key], object.count <= 500 else {
            throw .validation(path(key), "must be an object of at most 500 texts")
        }
        var result: [String: String] = [:]
        for (textKey, value) in object {
            let parts = textKey.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let channel = MessageChannel(rawValue: String(parts[0])),
                  let purpose = VerificationPurpose(rawValue: String(parts[1])), let locale = LocaleFallback.canonical(String(parts[2]))
            else {
                throw .validation("\(path(key)).\(textKey)", "must be named <channel>.<purpose>.<locale>, like sms.login.en")
            }
            guard case .string(let text) = value else { throw .validation("\(path(key)).\(textKey)", "must be a string") }
            if let problem = VerificationTexts.problem(in: text, purpose: purpose, channel: channel) {
                throw .validation("\(path(key)).\(textKey)", problem)
            }
            result[Settings.Verification.textKey(channel: channel, purpose: purpose, locale: locale)] = text
        }
        return result
    }

    func testNumbers(_ key: String, codeLength: Int) throws(HeraldError) -> [String: String] {
        guard case .object(let object)? = values[key], object.count <= 100 else {
            throw .validation(path(key), "must be an object of at most 100 numbers")
        }
        var result: [String: String] = [:]
        for (number, code) in object {
            guard let parsed = try? PhoneNumberParser.parse(number), parsed.e164 == number else {
                throw .validation("\(path(key)).\(number)", "must be an E.164 number")
            }
            guard case .string(let digits) = code, digits.count == codeLength, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else {
                throw .validation("\(path(key)).\(number)", "must be a code of \(codeLength) digits")
            }
            result[number] = digits
        }
        return result
    }
}
