/// Which translation of a template a locale gets: BCP 47 tags, truncated from the right
/// (RFC 4647 "lookup"), matched without regard to case, then the default body.
public enum LocaleFallback {
    /// Tags are 2–35 characters: a 2–3 letter language, then subtags of 1–8 letters or digits
    /// joined by `-` (`_` is accepted and read as `-`, as in POSIX `de_AT`).
    public static let maximumLength = 35

    /// The tag in canonical case (`de-at` → `de-AT`, `ZH-hant-tw` → `zh-Hant-TW`), or nil when
    /// it is not a tag of the shape above.
    public static func canonical(_ tag: String) -> String? {
        guard (2...maximumLength).contains(tag.utf8.count) else { return nil }
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false)
            .flatMap { $0.split(separator: "_", omittingEmptySubsequences: false) }
        guard let language = subtags.first, (2...3).contains(language.utf8.count), language.allSatisfy(\.isASCIILetter) else {
            return nil
        }
        var result = [language.lowercased()]
        var extensions = false
        for subtag in subtags.dropFirst() {
            guard (1...8).contains(subtag.utf8.count), subtag.allSatisfy({ $0.isASCIILetter || $0.isASCIIDigit }) else {
                return nil
            }
            // From a singleton on (`u-…` extensions, `x-…` private use) subtags are lower case.
            if extensions || subtag.utf8.count == 1 {
                extensions = true
                result.append(subtag.lowercased())
            } else if subtag.utf8.count == 4, subtag.allSatisfy(\.isASCIILetter) {
                result.append(subtag.prefix(1).uppercased() + subtag.dropFirst().lowercased())  // script
            } else if subtag.utf8.count == 2 && subtag.allSatisfy(\.isASCIILetter)
                || subtag.utf8.count == 3 && subtag.allSatisfy(\.isASCIIDigit)
            {
                result.append(subtag.uppercased())  // region
            } else {
                result.append(subtag.lowercased())
            }
        }
        return result.joined(separator: "-")
    }

    /// The tags to try, most specific first: `de-AT` → `de-AT`, `de`;
    /// `zh-Hant-TW` → `zh-Hant-TW`, `zh-Hant`, `zh`. A single-character subtag left at the end
    /// is dropped with the subtag after it (`de-x-formal` → `de-x-formal`, `de`).
    /// Empty for nil or a tag that is not valid.
    public static func chain(_ locale: String?) -> [String] {
        guard let locale, let canonical = canonical(locale) else { return [] }
        var subtags = canonical.split(separator: "-").map(String.init)
        var chain: [String] = []
        while !subtags.isEmpty {
            chain.append(subtags.joined(separator: "-"))
            subtags.removeLast()
            while let last = subtags.last, last.utf8.count == 1 { subtags.removeLast() }
        }
        return chain
    }

    /// The key of `available` the locale falls back to (compared without regard to case, and
    /// returned as spelled in `available`), or nil when the default body applies.
    public static func resolve(_ locale: String?, among available: some Sequence<String>) -> String? {
        let chain = chain(locale)
        guard !chain.isEmpty else { return nil }
        var byCanonical: [String: String] = [:]
        for key in available {
            let folded = (canonical(key) ?? key).lowercased()
            if byCanonical[folded] == nil { byCanonical[folded] = key }
        }
        for tag in chain {
            if let key = byCanonical[tag.lowercased()] { return key }
        }
        return nil
    }
}

extension Character {
    fileprivate var isASCIILetter: Bool { isASCII && isLetter }
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
