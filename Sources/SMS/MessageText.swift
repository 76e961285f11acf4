/// How a message body travels: GSM-7 when every character has a GSM-7 form, else UCS-2.
public enum SMSEncoding: String, Sendable, Codable {
    case gsm7 = "GSM-7"
    case ucs2 = "UCS-2"
}

/// A message body measured exactly as 3GPP TS 23.038 counts it, split into the parts a
/// concatenated SMS carries.
///
/// GSM-7: 160 septets in one part, 153 per part when concatenated; extension characters cost
/// two septets and an escape pair never straddles two parts. UCS-2: 70 UTF-16 code units in
/// one part, 67 per part; a surrogate pair never straddles two parts.
public struct MessageText: Sendable, Equatable {
    public let text: String
    public let encoding: SMSEncoding
    /// The body split into parts (one element for a single SMS; empty for an empty body).
    public let parts: [String]
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole body.
    public let units: Int
    /// Characters as a person counts them (grapheme clusters).
    public var characters: Int { text.count }
    public var segments: Int { parts.count }

    /// Characters that force UCS-2, in order of first appearance.
    public let nonGSMCharacters: [Character]

    public static let gsm7Single = 160, gsm7Part = 153, ucs2Single = 70, ucs2Part = 67

    public init(_ text: String) {
        self.text = text
        var nonGSM: [Character] = []
        for character in text where character.unicodeScalars.contains(where: { GSM7.septets($0) == nil }) {
            if !nonGSM.contains(character) { nonGSM.append(character) }
        }
        nonGSMCharacters = nonGSM
        if nonGSM.isEmpty {
            encoding = .gsm7
            let costs = text.unicodeScalars.map { (scalar: $0, cost: GSM7.septets($0)!) }
            units = costs.reduce(0) { $0 + $1.cost }
            parts = Self.split(costs, total: units, single: Self.gsm7Single, part: Self.gsm7Part)
        } else {
            encoding = .ucs2
            // A scalar outside the BMP is a surrogate pair: two units that stay together.
            let costs = text.unicodeScalars.map { (scalar: $0, cost: $0.utf16.count) }
            units = costs.reduce(0) { $0 + $1.cost }
            parts = Self.split(costs, total: units, single: Self.ucs2Single, part: Self.ucs2Part)
        }
    }

    /// Greedy split by unit cost, never cutting one scalar's units apart.
    static func split(_ costs: [(scalar: Unicode.Scalar, cost: Int)], total: Int, single: Int, part: Int) -> [String] {
        guard total > 0 else { return [] }
        guard total > single else { return [String(String.UnicodeScalarView(costs.map(\.scalar)))] }
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        var used = 0
        for (scalar, cost) in costs {
            if used + cost > part {
                parts.append(String(current))
                current = String.UnicodeScalarView()
                used = 0
            }
            current.append(scalar)
            used += cost
        }
        if !current.isEmpty { parts.append(String(current)) }
        return parts
    }
}
