/// What an inbound reply asks for (DESIGN.md, "Campaigns — rules that tests check").
public enum ReplyKeyword: String, Sendable, Equatable, Codable {
    case optOut = "opt_out"
    case optIn = "opt_in"
    case help
}

/// The keyword lists in force (settings `opt_out`, `opt_in`, `help`).
public struct KeywordSet: Sendable, Equatable {
    public var optOut: [String]
    public var optIn: [String]
    public var help: [String]

    public init(
        optOut: [String] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"],
        optIn: [String] = ["START", "UNSTOP"],
        help: [String] = ["HELP", "INFO"]
    ) {
        self.optOut = optOut
        self.optIn = optIn
        self.help = help
    }

    /// The keyword a reply is, or nil. The keyword must be the whole message, in any case;
    /// surrounding whitespace and trailing punctuation a phone adds ("Stop." "STOP!") are
    /// ignored, but "please stop texting me" is a message, not a keyword.
    public func classify(_ message: String) -> ReplyKeyword? {
        let word = Self.normalise(message)
        guard !word.isEmpty else { return nil }
        // Opt-out wins if a word were configured in two lists: never keep texting someone by mistake.
        if optOut.contains(where: { Self.normalise($0) == word }) { return .optOut }
        if optIn.contains(where: { Self.normalise($0) == word }) { return .optIn }
        if help.contains(where: { Self.normalise($0) == word }) { return .help }
        return nil
    }

    static func normalise(_ text: String) -> String {
        var word = text.trimmingWhitespace()
        while let last = word.last, ".!?".contains(last) { word.removeLast() }
        // Full-width letters (ＳＴＯＰ) and any case compare equal to ASCII.
        let folded = word.unicodeScalars.map { scalar -> Character in
            if (0xFF21...0xFF3A).contains(scalar.value) || (0xFF41...0xFF5A).contains(scalar.value),
                let ascii = Unicode.Scalar(scalar.value - 0xFEE0)
            {
                return Character(ascii)
            }
            return Character(scalar)
        }
        return String(folded).uppercased()
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[start...end])
    }
}
