#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Hand-written encoders for the hot path: building a reply with string appends is several
/// times faster than `JSONEncoder`, and parsing a small form from bytes avoids Foundation.
enum JSONText {
    /// Appends `value` as a JSON string literal, quotes included.
    static func appendString(_ value: String, to out: inout String) {
        out.append("\"")
        var needsEscape = false
        for byte in value.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscape = true
            break
        }
        if !needsEscape {
            out.append(value)
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out.append("\\\"")
                case "\\": out.append("\\\\")
                case "\n": out.append("\\n")
                case "\r": out.append("\\r")
                case "\t": out.append("\\t")
                case _ where scalar.value < 0x20:
                    out.append("\\u00")
                    out.append(hexDigit(UInt8(scalar.value >> 4), uppercase: false))
                    out.append(hexDigit(UInt8(scalar.value & 0xF), uppercase: false))
                default: out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }

    /// A JSON string literal, or `null`.
    static func appendOptional(_ value: String?, to out: inout String) {
        if let value { appendString(value, to: &out) } else { out.append("null") }
    }

    /// `"name":"value",` style member; `comma` says whether to lead with a comma.
    static func appendMember(_ name: String, _ value: String?, to out: inout String, comma: Bool = true) {
        if comma { out.append(",") }
        out.append("\"")
        out.append(name)
        out.append("\":")
        appendOptional(value, to: &out)
    }

    static func hexDigit(_ nibble: UInt8, uppercase: Bool) -> Character {
        let digits: StaticString = "0123456789abcdef"
        let upperDigits: StaticString = "0123456789ABCDEF"
        let table = uppercase ? upperDigits : digits
        return Character(Unicode.Scalar(table.utf8Start[Int(nibble & 0xF)]))
    }
}

enum Hex {
    /// `value` as exactly 16 hex digits.
    static func append(_ value: UInt64, uppercase: Bool = false, to out: inout String) {
        let table: StaticString = uppercase ? "0123456789ABCDEF" : "0123456789abcdef"
        var shift = 60
        while shift >= 0 {
            out.unicodeScalars.append(Unicode.Scalar(table.utf8Start[Int((value >> UInt64(shift)) & 0xF)]))
            shift -= 4
        }
    }
}

/// A parsed `application/x-www-form-urlencoded` body (or query string): `+` is a space,
/// `%XX` a byte; a malformed escape is kept as it is, as lenient servers do.
struct FormFields: Sendable {
    var pairs: [(name: String, value: String)]

    init(_ pairs: [(name: String, value: String)]) { self.pairs = pairs }

    init(bytes: UnsafeRawBufferPointer) {
        pairs = []
        var start = 0
        let count = bytes.count
        while start < count {
            var end = start
            while end < count, bytes[end] != UInt8(ascii: "&") { end += 1 }
            if end > start {
                var equals = start
                while equals < end, bytes[equals] != UInt8(ascii: "=") { equals += 1 }
                let name = Self.unescape(UnsafeRawBufferPointer(rebasing: bytes[start..<equals]))
                let value = equals < end ? Self.unescape(UnsafeRawBufferPointer(rebasing: bytes[(equals + 1)..<end])) : ""
                pairs.append((name, value))
            }
            start = end + 1
        }
    }

    init(_ text: String) {
        var text = text
        self = text.withUTF8 { FormFields(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The first value named `name`; nil when absent (an empty value is returned as "").
    subscript(_ name: String) -> String? {
        for pair in pairs where pair.name == name { return pair.value }
        return nil
    }

    /// The first non-empty value named `name`.
    func nonEmpty(_ name: String) -> String? {
        guard let value = self[name], !value.isEmpty else { return nil }
        return value
    }

    private static func unescape(_ bytes: UnsafeRawBufferPointer) -> String {
        var plain = true
        for byte in bytes where byte == UInt8(ascii: "%") || byte == UInt8(ascii: "+") {
            plain = false
            break
        }
        if plain { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                out.append(0x20)
            } else if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
                      let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 2
            } else {
                out.append(byte)
            }
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// Wall-clock times in the formats providers use, without `DateFormatter`.
struct WallTime: Sendable {
    /// Seconds since 1970 (UTC), with fractions.
    var epoch: Double

    static func now() -> WallTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return WallTime(epoch: Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9)
    }

    private struct Civil { var year, month, day, hour, minute, second, weekday, millisecond: Int }

    /// Howard Hinnant's days-from-civil inverse.
    private var civil: Civil {
        let totalMilliseconds = Int((epoch * 1000).rounded(.down))
        let seconds = totalMilliseconds >= 0 ? totalMilliseconds / 1000 : (totalMilliseconds - 999) / 1000
        let millisecond = totalMilliseconds - seconds * 1000
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7  // 0 = Sunday; 1970-01-01 was a Thursday
        return Civil(year: year, month: month, day: day, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60,
                     second: secondOfDay % 60, weekday: weekday, millisecond: millisecond)
    }

    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func pad(_ value: Int, _ width: Int, _ out: inout String) {
        var digits = String(value)
        while digits.count < width { digits = "0" + digits }
        out.append(digits)
    }

    /// RFC 2822 as Twilio writes it: `Thu, 24 Aug 2023 05:01:45 +0000`.
    var rfc2822: String {
        let c = civil
        var out = Self.weekdays[c.weekday] + ", "
        Self.pad(c.day, 2, &out); out += " " + Self.months[c.month - 1] + " "
        Self.pad(c.year, 4, &out); out += " "
        Self.pad(c.hour, 2, &out); out += ":"; Self.pad(c.minute, 2, &out); out += ":"; Self.pad(c.second, 2, &out)
        out += " +0000"
        return out
    }

    /// RFC 3339 in UTC with milliseconds: `2026-12-01T09:00:00.123Z`.
    var rfc3339: String {
        let c = civil
        var out = ""
        Self.pad(c.year, 4, &out); out += "-"; Self.pad(c.month, 2, &out); out += "-"; Self.pad(c.day, 2, &out)
        out += "T"
        Self.pad(c.hour, 2, &out); out += ":"; Self.pad(c.minute, 2, &out); out += ":"; Self.pad(c.second, 2, &out)
        out += "."; Self.pad(c.millisecond, 3, &out); out += "Z"
        return out
    }

    /// Vonage's `message-timestamp`: `2026-12-01 09:00:00`.
    var vonageTimestamp: String {
        let c = civil
        var out = ""
        Self.pad(c.year, 4, &out); out += "-"; Self.pad(c.month, 2, &out); out += "-"; Self.pad(c.day, 2, &out)
        out += " "
        Self.pad(c.hour, 2, &out); out += ":"; Self.pad(c.minute, 2, &out); out += ":"; Self.pad(c.second, 2, &out)
        return out
    }

    /// Vonage's `scts` (service centre time stamp): `YYMMDDHHMM`.
    var scts: String {
        let c = civil
        var out = ""
        Self.pad(c.year % 100, 2, &out); Self.pad(c.month, 2, &out); Self.pad(c.day, 2, &out)
        Self.pad(c.hour, 2, &out); Self.pad(c.minute, 2, &out)
        return out
    }

    var unixSeconds: Int { Int(epoch.rounded(.down)) }

    /// A monotonic clock in nanoseconds, for short windows (the early-retry check).
    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}

/// SplitMix64: tiny, fast and good enough to decide faults; also a bijection of its state,
/// which makes `mix(sequence)` a unique, random-looking id.
struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
