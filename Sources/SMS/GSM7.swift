/// The GSM 7-bit default alphabet and its extension table (3GPP TS 23.038, 6.2.1).
public enum GSM7 {
    /// The 128 characters of the default alphabet, by septet value (0x1B is the escape).
    static let basic: [Character] = [
        "@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å",
        "Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", "\u{1B}", "Æ", "æ", "ß", "É",
        " ", "!", "\"", "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/",
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?",
        "¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O",
        "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§",
        "¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o",
        "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à",
    ]

    /// The extension table: each costs an escape septet plus its own (two septets).
    static let extended: Set<Unicode.Scalar> = ["\u{0C}", "^", "{", "}", "\\", "[", "~", "]", "|", "€"]

    static let basicScalars: Set<Unicode.Scalar> = Set(
        basic.filter { $0 != "\u{1B}" }.map { $0.unicodeScalars.first! })

    /// Septets a scalar costs in GSM-7, or nil when it has no GSM-7 form.
    public static func septets(_ scalar: Unicode.Scalar) -> Int? {
        if basicScalars.contains(scalar) { return 1 }
        if extended.contains(scalar) { return 2 }
        return nil
    }
}
