import Foundation
import Phone
import SMS

/// The rules every contact field obeys, for the API and for CSV imports alike. Pure: no I/O.
/// Each failure is a `validation_failed` (or `invalid_phone_number`) naming the field.
public enum ContactRules {
    public static let maximumNameLength = 100
    public static let maximumTags = 50
    public static let maximumTagLength = 64
    public static let maximumAttributes = 100
    public static let maximumAttributeKeyLength = 64
    /// The attributes of one contact, as compact JSON.
    public static let maximumAttributeBytes = 16_384
    public static let maximumAttributeDepth = 4
    public static let maximumConsentText = 2_000
    public static let maximumSearchLength = 100

    /// The number in E.164, read as E.164 or as a national number of `country`.
    public static func phone(_ raw: String?, country: String?, field: String = "phone") throws -> PhoneNumber {
        guard let raw, !raw.trimmedOfWhitespace.isEmpty else {
            throw HeraldError.validation(field, "is required")
        }
        return try PhoneNumberInput(raw, country: country).parse(field: field)
    }

    /// A first or last name: trimmed, at most 100 characters, no control characters; empty is none.
    public static func name(_ raw: String?, field: String) throws -> String? {
        guard let trimmed = raw?.trimmedOfWhitespace, !trimmed.isEmpty else { return nil }
        guard trimmed.count <= maximumNameLength else {
            throw HeraldError.validation(field, "must be at most \(maximumNameLength) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw HeraldError.validation(field, "must not contain control characters")
        }
        return trimmed
    }

    /// A locale tag in its canonical form (`pt-br` → `pt-BR`); empty is none.
    public static func locale(_ raw: String?, field: String = "locale") throws -> String? {
        guard let trimmed = raw?.trimmedOfWhitespace, !trimmed.isEmpty else { return nil }
        guard let canonical = LocaleFallback.canonical(trimmed) else {
            throw HeraldError.validation(field, "is not a locale tag such as de or pt-BR")
        }
        return canonical
    }

    /// The IANA zones this system knows, keyed by lowercase name for a case-blind lookup.
    static let zones: [String: String] = {
        var zones: [String: String] = [:]
        for identifier in TimeZone.knownTimeZoneIdentifiers + ["UTC"] where TimeZone(identifier: identifier) != nil {
            zones[identifier.lowercased()] = identifier
        }
        return zones
    }()

    /// An IANA time zone name (`Europe/Berlin`), spelled as the database spells it; empty is none.
    public static func timezone(_ raw: String?, field: String = "timezone") throws -> String? {
        guard let trimmed = raw?.trimmedOfWhitespace, !trimmed.isEmpty else { return nil }
        guard trimmed.utf8.count <= 64, let zone = zones[trimmed.lowercased()] else {
            throw HeraldError.validation(field, "is not an IANA time zone such as Europe/Berlin")
        }
        return zone
    }

    /// A tag: trimmed, 1–64 characters, no control characters, commas or semicolons (lists of
    /// tags are written with them).
    public static func tag(_ raw: String, field: String) throws -> String {
        let trimmed = raw.trimmedOfWhitespace
        guard !trimmed.isEmpty, trimmed.count <= maximumTagLength else {
            throw HeraldError.validation(field, "must be 1 to \(maximumTagLength) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0 == "," || $0 == ";" || $0.properties.generalCategory == .control }) else {
            throw HeraldError.validation(field, "must not contain commas, semicolons or control characters")
        }
        return trimmed
    }

    /// Tags in their first order, each once, at most 50.
    public static func tags(_ raw: [String], field: String = "tags") throws -> [String] {
        var seen = Set<String>()
        var tags: [String] = []
        for (index, text) in raw.enumerated() {
            let tag = try tag(text, field: "\(field)[\(index)]")
            if seen.insert(tag).inserted { tags.append(tag) }
        }
        guard tags.count <= maximumTags else { throw HeraldError.validation(field, "must hold at most \(maximumTags) tags") }
        return tags
    }

    /// An attribute key: a letter or `_`, then letters, digits or `_`, at most 64 — so that
    /// `attributes.<key>` in a segment rule names exactly one attribute.
    public static func isAttributeKey(_ key: String) -> Bool { SegmentRule.isAttributeKey(key) }

    /// A CSV column header as an attribute key: trimmed, lowercased, spaces and `-` as `_`.
    public static func attributeKey(header: String) -> String? {
        let key = header.trimmedOfWhitespace.lowercased()
            .replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
        return isAttributeKey(key) ? key : nil
    }

    /// Checks a merged attribute object: keys, count, depth and size.
    public static func attributes(_ attributes: [String: JSONValue], field: String = "attributes") throws {
        for key in attributes.keys.sorted() where !isAttributeKey(key) {
            throw HeraldError.validation("\(field).\(key.prefix(64))",
                                         "attribute keys are a letter or _ and then letters, digits or _, at most \(maximumAttributeKeyLength)")
        }
        guard attributes.count <= maximumAttributes else {
            throw HeraldError.validation(field, "must hold at most \(maximumAttributes) attributes")
        }
        for (key, value) in attributes where depth(value) > maximumAttributeDepth {
            throw HeraldError.validation("\(field).\(key)", "nests deeper than \(maximumAttributeDepth) levels")
        }
        let size = (try? JSONEncoder().encode(JSONValue.object(attributes)).count) ?? Int.max
        guard size <= maximumAttributeBytes else {
            throw HeraldError.validation(field, "must be at most \(maximumAttributeBytes) bytes of JSON")
        }
    }

    static func depth(_ value: JSONValue) -> Int {
        switch value {
        case .array(let items): 1 + (items.map(depth).max() ?? 0)
        case .object(let members): 1 + (members.values.map(depth).max() ?? 0)
        default: 0
        }
    }

    /// Merges an attribute patch: a value sets its key, `null` removes it.
    public static func merge(_ current: [String: JSONValue], _ patch: [String: JSONValue]) -> [String: JSONValue] {
        var merged = current
        for (key, value) in patch {
            if value == .null { merged[key] = nil } else { merged[key] = value }
        }
        return merged
    }

    /// Validated consent evidence.
    public struct Consent: Sendable, Equatable {
        public var source: String
        public var text: String?
        public var ip: String?
        public var at: Date?
    }

    /// Consent evidence: `source` a short word (`checkout_form`), `text` at most 2,000
    /// characters, `ip` an address, `at` not in the future.
    public static func consent(_ raw: ConsentInput, defaultSource: String, now: Date, field: String = "consent") throws -> Consent {
        let source = raw.source?.trimmedOfWhitespace ?? defaultSource
        guard (1...64).contains(source.count),
            source.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.:-".unicodeScalars.contains($0)) })
        else {
            throw HeraldError.validation(path(field, "source"), "must be 1 to 64 letters, digits or _ . : -")
        }
        let text = raw.text?.trimmedOfWhitespace
        if let text, text.count > maximumConsentText {
            throw HeraldError.validation(path(field, "text"), "must be at most \(maximumConsentText) characters")
        }
        var ip: String?
        if let raw = raw.ip?.trimmedOfWhitespace, !raw.isEmpty {
            guard raw.utf8.count <= 64, let address = IPAddress(raw) else {
                throw HeraldError.validation(path(field, "ip"), "must be an IPv4 or IPv6 address")
            }
            ip = address.description
        }
        if let at = raw.at, at > now.addingTimeInterval(300) {
            throw HeraldError.validation(path(field, "at"), "must not be in the future")
        }
        return Consent(source: source.lowercased(), text: text?.isEmpty == true ? nil : text, ip: ip, at: raw.at)
    }

    /// `consent.at`, or `at` when the consent is the whole body.
    static func path(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }

    /// A search term: trimmed, at most 100 characters; empty is none.
    public static func search(_ raw: String?, field: String = "search") throws -> String? {
        guard let trimmed = raw?.trimmedOfWhitespace, !trimmed.isEmpty else { return nil }
        guard trimmed.count <= maximumSearchLength, !trimmed.unicodeScalars.contains("\u{0}") else {
            throw HeraldError.validation(field, "must be at most \(maximumSearchLength) characters")
        }
        return trimmed
    }
}

extension ContactRules {
    /// An RFC 3339 time (`2026-12-01T09:00:00Z`, fractions and offsets allowed).
    public static func timestamp(_ raw: String, field: String) throws -> Date {
        guard let date = SegmentRule.timestamp(raw) else {
            throw HeraldError.validation(field, "must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
        }
        return date
    }
}

extension StringProtocol {
    /// Without white space (Unicode's, line breaks included) at either end. Much cheaper than
    /// Foundation's trimming, which bridges through UTF-16: imports call it for every cell, and a
    /// cell that needs no trimming comes back as is.
    public var trimmedOfWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.first, let last = scalars.last else { return "" }
        if !first.properties.isWhitespace && !last.properties.isWhitespace { return String(self) }
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        var trimmed = String.UnicodeScalarView()
        trimmed.append(contentsOf: scalars[start...end])
        return String(trimmed)
    }
}
