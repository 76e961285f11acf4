/// Where a verification code goes in a message body.
///
/// A code message is stored with markers in place of the code — never the code itself — and
/// rendered at submission from the code sealed for that message. Readers of the stored body
/// see it masked. The markers are Unicode private-use characters, which no text Herald renders
/// may contain (``stripMarkers(_:)`` removes them from anything inserted around the code).
public enum CodeText {
    /// Stands for the code as digits: `493027`.
    public static let digits: Unicode.Scalar = "\u{E000}"
    /// Stands for the code spoken digit by digit: `4, 9, 3, 0, 2, 7`.
    public static let spoken: Unicode.Scalar = "\u{E001}"
    /// What a masked code shows, per digit.
    public static let maskCharacter: Character = "•"

    /// Whether `body` carries a code marker.
    public static func hasMarker(_ body: String) -> Bool {
        body.unicodeScalars.contains { $0 == digits || $0 == spoken }
    }

    /// The body with its markers replaced by `code` (digits, or spoken digit by digit).
    public static func render(_ body: String, code: String) -> String {
        substitute(body, digits: code, spoken: spokenForm(code))
    }

    /// The body as readers see it: every marker replaced by one mask of `length` bullets.
    public static func masked(_ body: String, length: Int) -> String {
        let mask = String(repeating: maskCharacter, count: max(1, length))
        return substitute(body, digits: mask, spoken: mask)
    }

    /// `4, 9, 3, 0, 2, 7`: a text-to-speech engine reads each digit on its own, with a pause,
    /// instead of "four hundred ninety-three thousand…".
    public static func spokenForm(_ code: String) -> String {
        code.map(String.init).joined(separator: ", ")
    }

    /// `text` without code markers (a payee or brand must not be able to place a code).
    public static func stripMarkers(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == digits || $0 == spoken }) else { return text }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter { $0 != digits && $0 != spoken })
        return String(scalars)
    }

    private static func substitute(_ body: String, digits digitText: String, spoken spokenText: String) -> String {
        guard hasMarker(body) else { return body }
        var result = String.UnicodeScalarView()
        for scalar in body.unicodeScalars {
            switch scalar {
            case digits: result.append(contentsOf: digitText.unicodeScalars)
            case spoken: result.append(contentsOf: spokenText.unicodeScalars)
            default: result.append(scalar)
            }
        }
        return String(result)
    }
}
