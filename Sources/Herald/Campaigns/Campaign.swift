import Foundation
import SMS

/// A campaign: one template sent to one segment's subscribed contacts, now, at an instant, or at
/// a wall-clock time in each recipient's own zone.
public struct Campaign: Sendable, Equatable {
    /// When it goes.
    public enum Schedule: Sendable, Equatable {
        /// No time set: a draft sent by hand (`/send`).
        case none
        /// At this instant, for everyone.
        case at(Date)
        /// At this wall-clock time in each recipient's zone; `fallback` for recipients whose zone
        /// is unknown.
        case local(DateComponents, fallback: TimeZone)
    }

    /// A campaign's quiet hours or frequency cap: the settings' (read when each message is
    /// fed, so a change in settings reaches a running campaign), none, or its own.
    public enum Policy<Value: Sendable & Equatable>: Sendable, Equatable {
        case settings
        case none
        case custom(Value)

        /// The value in force, given the settings' one.
        public func resolved(_ fromSettings: Value?) -> Value? {
            switch self {
            case .settings: fromSettings
            case .none: nil
            case .custom(let value): value
            }
        }
    }

    public var id: UUID
    public var name: String
    /// nil only when the template was deleted after the campaign finished.
    public var templateID: UUID?
    /// nil: every contact.
    public var segmentID: UUID?
    public var sender: String?
    public var status: CampaignStatus
    public var schedule: Schedule
    /// Messages per second handed to the queue; nil: as fast as the dispatcher takes them.
    public var throttlePerSecond: Int?
    public var quietHours: Policy<Settings.QuietHours>
    public var frequencyCap: Policy<Settings.FrequencyCap>
    /// When the audience was frozen.
    public var launchedAt: Date?
    public var completedAt: Date?
    public var createdAt: Date
    public var updatedAt: Date

    /// The earliest instant anyone's message may go: the schedule's instant, or for a local
    /// time the moment it is that time in the zone furthest ahead (UTC+14); nil for a draft.
    public var startsAt: Date? {
        switch schedule {
        case .none: nil
        case .at(let date): date
        case .local(let wall, _): CampaignTime.instant(wall, in: TimeZone(secondsFromGMT: 14 * 3600)!)
        }
    }
}

/// Why a recipient was left out: at launch (`excluded`) or when its turn came (`skipped`).
public enum RecipientReason: String, Sendable, CaseIterable, Codable {
    case unsubscribed
    case invalidNumber = "invalid_number"
    case notMobile = "not_mobile"
    case frequencyCapped = "frequency_capped"
    /// The contact was deleted after launch.
    case deleted
    /// The template needs a value this contact lacks (`{{attributes.plan}}` with no plan).
    case missingVariable = "missing_variable"
    /// The campaign was cancelled before the recipient's turn.
    case canceled
}

/// The request bodies of `POST /v1/campaigns` and `PATCH /v1/campaigns/{id}`, read and checked.
/// Pure: the template and segment are looked up by the service.
public struct CampaignDraft: Sendable, Equatable {
    public var name: String?
    public var templateID: UUID?
    /// `.some(nil)`: every contact.
    public var segmentID: UUID??
    public var sender: String??
    public var schedule: Campaign.Schedule?
    public var throttlePerSecond: Int??
    public var quietHours: Campaign.Policy<Settings.QuietHours>?
    public var frequencyCap: Campaign.Policy<Settings.FrequencyCap>?

    static let known: Set<String> = ["name", "template_id", "segment_id", "sender", "schedule", "throttle_per_second",
                                     "quiet_hours", "frequency_cap"]

    /// Reads a body. `creating`: `name` and `template_id` are required.
    public static func parse(_ body: [String: JSONValue], creating: Bool) throws(HeraldError) -> CampaignDraft {
        for key in body.keys.sorted() where !known.contains(key) {
            throw .validation(key, "is not a campaign field")
        }
        var draft = CampaignDraft()
        if let value = body["name"] {
            guard case .string(let raw) = value else { throw .validation("name", "must be text") }
            let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...200).contains(name.count), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw .validation("name", "must be 1–200 characters without control characters")
            }
            draft.name = name
        } else if creating {
            throw .validation("name", "is required")
        }
        if let value = body["template_id"] {
            draft.templateID = try uuid(value, field: "template_id")
        } else if creating {
            throw .validation("template_id", "is required")
        }
        if let value = body["segment_id"] {
            draft.segmentID = .some(value == .null ? nil : try uuid(value, field: "segment_id"))
        }
        if let value = body["sender"] {
            if value == .null {
                draft.sender = .some(nil)
            } else {
                guard case .string(let sender) = value, (1...20).contains(sender.count),
                      sender.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == " ") })
                else { throw .validation("sender", "must be a phone number or an alphanumeric sender of at most 20 characters") }
                draft.sender = .some(sender)
            }
        }
        if let value = body["schedule"] { draft.schedule = try schedule(value) }
        if let value = body["throttle_per_second"] {
            if value == .null {
                draft.throttlePerSecond = .some(nil)
            } else {
                guard case .number(let n) = value, n.rounded() == n, n >= 1, n <= 100_000 else {
                    throw .validation("throttle_per_second", "must be a whole number from 1 to 100000, or null for no throttle")
                }
                draft.throttlePerSecond = .some(Int(n))
            }
        }
        if let value = body["quiet_hours"] {
            draft.quietHours = try policy(value, field: "quiet_hours") { object throws(HeraldError) in
                try only(["start", "end"], in: object, field: "quiet_hours")
                let quiet = Settings.QuietHours(start: try minutes(object["start"], field: "quiet_hours.start"),
                                                end: try minutes(object["end"], field: "quiet_hours.end"))
                guard quiet.start != quiet.end else { throw .validation("quiet_hours.end", "must differ from start (use null for no quiet hours)") }
                return quiet
            }
        }
        if let value = body["frequency_cap"] {
            draft.frequencyCap = try policy(value, field: "frequency_cap") { object throws(HeraldError) in
                try only(["max", "window_hours"], in: object, field: "frequency_cap")
                return Settings.FrequencyCap(max: try whole(object["max"], 1...10_000, field: "frequency_cap.max"),
                                             windowHours: try whole(object["window_hours"], 1...8760, field: "frequency_cap.window_hours"))
            }
        }
        return draft
    }

    static func uuid(_ value: JSONValue, field: String) throws(HeraldError) -> UUID {
        guard case .string(let raw) = value, let id = UUID(uuidString: raw) else { throw .validation(field, "must be an id") }
        return id
    }

    static func only(_ keys: Set<String>, in object: [String: JSONValue], field: String) throws(HeraldError) {
        for key in object.keys.sorted() where !keys.contains(key) { throw .validation("\(field).\(key)", "is not a field of \(field)") }
    }

    static func minutes(_ value: JSONValue?, field: String) throws(HeraldError) -> Int {
        guard case .string(let text)? = value, let time = LocalTime(text) else { throw .validation(field, "must be a time like 21:00") }
        return time.hour * 60 + time.minute
    }

    static func whole(_ value: JSONValue?, _ range: ClosedRange<Int>, field: String) throws(HeraldError) -> Int {
        guard case .number(let n)? = value, n.rounded() == n, n >= Double(range.lowerBound), n <= Double(range.upperBound) else {
            throw .validation(field, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(n)
    }

    static func policy<Value>(
        _ value: JSONValue, field: String, _ read: ([String: JSONValue]) throws(HeraldError) -> Value
    ) throws(HeraldError) -> Campaign.Policy<Value> {
        switch value {
        case .null: return .none
        case .string("settings"): return .settings
        case .object(let object): return .custom(try read(object))
        default: throw .validation(field, "must be an object, null for none, or \"settings\" for the settings' default")
        }
    }

    /// `{"send_at": RFC 3339}`, `{"local_time": "2026-12-01T10:00:00", "fallback_timezone": "Europe/Berlin"}`,
    /// or null (no time: send by hand).
    static func schedule(_ value: JSONValue) throws(HeraldError) -> Campaign.Schedule {
        guard value != .null else { return .none }
        guard case .object(let object) = value else { throw .validation("schedule", "must be an object with send_at or local_time, or null") }
        try only(["send_at", "local_time", "fallback_timezone"], in: object, field: "schedule")
        switch (object["send_at"], object["local_time"]) {
        case (.some, .some):
            throw .validation("schedule.local_time", "give either send_at or local_time, not both")
        case (let sendAt?, nil):
            if object["fallback_timezone"] != nil { throw .validation("schedule.fallback_timezone", "only applies to local_time") }
            guard case .string(let text) = sendAt, let date = SegmentRule.timestamp(text) else {
                throw .validation("schedule.send_at", "must be an RFC 3339 time with a zone, like 2026-12-01T09:00:00Z")
            }
            return .at(date)
        case (nil, let local?):
            guard case .string(let text) = local, let wall = wallClock(text) else {
                throw .validation("schedule.local_time", "must be a wall-clock time without a zone, like 2026-12-01T10:00:00")
            }
            guard case .string(let name)? = object["fallback_timezone"], let zone = TimeZone(identifier: name), name.contains("/") || name == "UTC"
            else { throw .validation("schedule.fallback_timezone", "is required with local_time: an IANA zone like Europe/Berlin") }
            return .local(wall, fallback: zone)
        case (nil, nil):
            throw .validation("schedule", "needs send_at or local_time")
        }
    }

    /// `2026-12-01T10:00:00` or `2026-12-01T10:00` (no zone, no fraction).
    static func wallClock(_ text: String) -> DateComponents? {
        let bytes = Array(text.utf8)
        guard bytes.count == 19 || bytes.count == 16 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { return nil }
                value = value * 10 + Int(bytes[index] - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), (2000...2200).contains(year), (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        var second = 0
        if bytes.count == 19 {
            guard bytes[16] == UInt8(ascii: ":"), let s = number(17..<19), (0...59).contains(s) else { return nil }
            second = s
        }
        // The day must exist in that month (no 31 November).
        guard let date = CampaignTime.utc.date(from: DateComponents(year: year, month: month, day: day)),
              CampaignTime.utc.component(.day, from: date) == day, (1...31).contains(day)
        else { return nil }
        return DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }
}
