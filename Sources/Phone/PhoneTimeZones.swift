/// The time zones of a phone number, from libphonenumber's prefix map (the longest prefix of the
/// number's digits that the map holds). A country or range with one zone names it; a number of a
/// country spanning several zones names them all — a caller wanting one zone takes it only when
/// there is exactly one.
public enum PhoneTimeZones {
    /// Prefix (digits after +) → zones.
    static let map: [Substring: [String]] = {
        var map: [Substring: [String]] = [:]
        for line in PhoneTimeZoneData.text.split(separator: "\n") {
            guard let bar = line.firstIndex(of: "|") else { continue }
            map[line[..<bar]] = line[line.index(after: bar)...].split(separator: ",").map(String.init)
        }
        return map
    }()

    static let longestPrefix = map.keys.map(\.count).max() ?? 0

    /// The zones the map gives an E.164 number (`+4915112345678`); empty when it names none.
    public static func zones(forE164 e164: String) -> [String] {
        guard e164.hasPrefix("+") else { return [] }
        let digits = e164.dropFirst()
        var length = min(digits.count, longestPrefix)
        while length > 0 {
            if let zones = map[digits.prefix(length)], zones != ["Etc/Unknown"] { return zones }
            length -= 1
        }
        return []
    }

    /// The number's zone when the map names exactly one.
    public static func zone(forE164 e164: String) -> String? {
        let zones = zones(forE164: e164)
        return zones.count == 1 ? zones[0] : nil
    }

    /// Which release of libphonenumber's data this is.
    public static var dataVersion: String { PhoneTimeZoneData.version }
}
