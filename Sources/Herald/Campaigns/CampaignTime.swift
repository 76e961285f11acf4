import Foundation
import Phone

/// A wall-clock time of day, `HH:MM`.
public struct LocalTime: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init?(hour: Int, minute: Int) {
        guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
        self.hour = hour
        self.minute = minute
    }

    /// `21:00`, `8:05`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let hour = Int(parts[0]), let minute = Int(parts[1])
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    var minuteOfDay: Int { hour * 60 + minute }
    public var description: String { String(format: "%02d:%02d", hour, minute) }
    public static func < (lhs: LocalTime, rhs: LocalTime) -> Bool { lhs.minuteOfDay < rhs.minuteOfDay }
}

/// Quiet hours in the recipient's zone: `start` to `end`, wrapping midnight when `start` is later
/// (21:00–08:00). Equal ends mean no quiet hours.
public struct QuietHours: Sendable, Equatable {
    public var start: LocalTime
    public var end: LocalTime
    public init(start: LocalTime, end: LocalTime) { self.start = start; self.end = end }

    /// The settings' form (minutes after midnight).
    public init(_ settings: Settings.QuietHours) {
        self.start = LocalTime(hour: settings.start / 60, minute: settings.start % 60) ?? LocalTime(hour: 0, minute: 0)!
        self.end = LocalTime(hour: settings.end / 60, minute: settings.end % 60) ?? LocalTime(hour: 0, minute: 0)!
    }

    func contains(_ time: LocalTime) -> Bool {
        if start == end { return false }
        if start < end { return start <= time && time < end }
        return time >= start || time < end
    }
}

/// Time in the recipient's zone, done right: which zone a contact is in, when a wall-clock time
/// happens there across daylight-saving changes, and the next minute outside quiet hours. Pure.
public enum CampaignTime {
    /// The contact's own zone; else the number's, when libphonenumber's map names exactly one;
    /// else `fallback`.
    public static func zone(contactTimezone: String?, phone: String, fallback: TimeZone) -> TimeZone {
        if let name = contactTimezone, let zone = TimeZone(identifier: name) { return zone }
        if let name = PhoneTimeZones.zone(forE164: phone), let zone = TimeZone(identifier: name) { return zone }
        return fallback
    }

    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The instant `local` (year, month, day, hour, minute, second) happens in `zone`. A time the
    /// clocks skip (02:30 when they jump from 02:00 to 03:00) moves forward by the gap (03:30); a
    /// time that happens twice (when clocks go back) is the first of the two.
    public static func instant(_ local: DateComponents, in zone: TimeZone) -> Date? {
        guard let wall = utc.date(from: local) else { return nil }  // the wall time read as if it were UTC
        let offsets = Set([-36.0, 0, 36].map { zone.secondsFromGMT(for: wall.addingTimeInterval($0 * 3600)) })
        let exact = offsets.map { wall.addingTimeInterval(-Double($0)) }.filter { zone.secondsFromGMT(for: $0) == Int(wall.timeIntervalSince($0)) }
        if let first = exact.min() { return first }
        // Skipped: read it with the offset from before the jump, which lands as far past the jump as it was meant to be.
        return wall.addingTimeInterval(-Double(offsets.min() ?? 0))
    }

    /// The wall-clock fields of `instant` in `zone`.
    public static func local(_ instant: Date, in zone: TimeZone) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
    }

    /// `instant` if it is outside quiet hours in `zone`, else the first instant the quiet hours
    /// end (their `end` on that local day or the next, across daylight-saving changes).
    public static func outsideQuietHours(_ instant: Date, quiet: QuietHours?, zone: TimeZone) -> Date {
        guard let quiet else { return instant }
        let here = local(instant, in: zone)
        guard let now = LocalTime(hour: here.hour ?? 0, minute: here.minute ?? 0), quiet.contains(now) else { return instant }
        var day = DateComponents(year: here.year, month: here.month, day: here.day)
        // After the start of a window that wraps midnight, it ends tomorrow.
        if quiet.start > quiet.end && now >= quiet.start {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let tomorrow = calendar.date(byAdding: .day, value: 1, to: calendar.date(from: day)!)!
            let parts = calendar.dateComponents([.year, .month, .day], from: tomorrow)
            day = DateComponents(year: parts.year, month: parts.month, day: parts.day)
        }
        day.hour = quiet.end.hour
        day.minute = quiet.end.minute
        day.second = 0
        guard let end = Self.instant(day, in: zone), end > instant else { return instant }
        return end
    }
}
