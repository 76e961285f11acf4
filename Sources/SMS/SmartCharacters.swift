/// Replaces look-alike characters that would force UCS-2 (curly quotes, dashes, ellipsis,
/// unusual spaces, full-width forms …) with their GSM-7 equivalents, and reports what changed.
public enum SmartCharacters {
    public struct Replacement: Sendable, Equatable {
        public let original: Character
        public let replacement: String
    }

    static let table: [Unicode.Scalar: String] = [
        "\u{2018}": "'", "\u{2019}": "'", "\u{201A}": "'", "\u{201B}": "'", "\u{2032}": "'", "\u{00B4}": "'", "\u{02BC}": "'",
        "\u{201C}": "\"", "\u{201D}": "\"", "\u{201E}": "\"", "\u{201F}": "\"", "\u{2033}": "\"", "\u{00AB}": "\"", "\u{00BB}": "\"",
        "\u{2010}": "-", "\u{2011}": "-", "\u{2012}": "-", "\u{2013}": "-", "\u{2014}": "-", "\u{2015}": "-", "\u{2212}": "-",
        "\u{2026}": "...", "\u{2022}": "-", "\u{00B7}": ".",
        "\u{00A0}": " ", "\u{2000}": " ", "\u{2001}": " ", "\u{2002}": " ", "\u{2003}": " ", "\u{2004}": " ", "\u{2005}": " ",
        "\u{2006}": " ", "\u{2007}": " ", "\u{2008}": " ", "\u{2009}": " ", "\u{200A}": " ", "\u{202F}": " ", "\u{205F}": " ",
        "\u{3000}": " ", "\u{0009}": " ",
        "\u{200B}": "", "\u{200C}": "", "\u{200D}": "", "\u{2060}": "", "\u{FEFF}": "", "\u{00AD}": "",
        "\u{2039}": "<", "\u{203A}": ">", "\u{02C6}": "^", "\u{02DC}": "~",
    ]

    /// The text with every replaceable character replaced, and what was replaced (each
    /// distinct character once). Characters with no GSM-7 equivalent are left alone.
    public static func replace(_ text: String) -> (text: String, replacements: [Replacement]) {
        var output = String.UnicodeScalarView()
        var replacements: [Replacement] = []
        for scalar in text.unicodeScalars {
            var substitute: String?
            if let mapped = table[scalar] {
                substitute = mapped
            } else if (0xFF01...0xFF5E).contains(scalar.value), let ascii = Unicode.Scalar(scalar.value - 0xFEE0),
                GSM7.septets(ascii) != nil
            {
                substitute = String(Character(ascii))  // full-width ASCII forms
            }
            if let substitute {
                output.append(contentsOf: substitute.unicodeScalars)
                let original = Character(scalar)
                if !replacements.contains(where: { $0.original == original }) {
                    replacements.append(Replacement(original: original, replacement: substitute))
                }
            } else {
                output.append(scalar)
            }
        }
        return (String(output), replacements)
    }
}
