/// The words every layer shares about a message: how it travels, what it is for, and where
/// it stands. Pure values; the database stores their raw values, and a raw value this code
/// does not know is an error (``UnknownValue``), never a silent fallback.

/// How a message reaches the person.
public enum MessageChannel: String, Sendable, Codable, CaseIterable {
    case sms, voice
}

/// What a message is for; it decides opt-outs, quiet hours and queue priority.
public enum MessageKind: String, Sendable, Codable, CaseIterable {
    /// Codes and one-off messages an app sends: never behind a campaign, never opted out of.
    case transactional
    /// Campaign traffic: honours opt-outs, quiet hours and frequency caps.
    case marketing

    /// Queue priority: lower is claimed first, so a code never waits behind a campaign.
    public var priority: Int16 { self == .transactional ? 0 : 1 }
}

/// Where a message stands, and which moves between states are allowed.
///
/// ```
/// queued ──claim──▶ sending ──accepted──▶ sent ──receipt──▶ delivered | undelivered | failed
///   ▲                  │
///   └──retry / lease───┘──refused──▶ failed        queued ──cancel──▶ canceled
/// ```
/// Receipts arrive out of order and more than once, so the rules are what keep the state
/// honest: a `delivered` message is never downgraded by a late `undelivered` receipt, and
/// a `canceled` one never becomes `sent`.
public enum MessageStatus: String, Sendable, Codable, CaseIterable {
    case queued, sending, sent, delivered, undelivered, failed, canceled

    /// No further change is expected (a late receipt may still turn `undelivered` into
    /// `delivered`: the handset did get it).
    public var isFinal: Bool {
        switch self {
        case .delivered, .undelivered, .failed, .canceled: true
        case .queued, .sending, .sent: false
        }
    }

    /// What happens to a message.
    public enum Event: Sendable, Equatable, CaseIterable {
        /// A dispatcher claims it for sending.
        case claim
        /// The provider accepted the submission (or the outbox stored it).
        case accepted
        /// A transient failure (or a rate-limit deferral): back to the queue for later.
        case retry
        /// The lease of a dead dispatcher ran out: back to the queue.
        case leaseExpired
        /// A permanent failure, or the attempts ran out.
        case refused
        /// A delivery receipt: the handset has it.
        case deliveredReceipt
        /// A delivery receipt: the carrier could not deliver it.
        case undeliveredReceipt
        /// A delivery receipt: the provider failed it after accepting it.
        case failedReceipt
        /// Cancelled before sending (an opted-out recipient, a cancelled campaign).
        case cancel
    }

    /// The status after `event`, or nil when the event must not change this message.
    ///
    /// Receipts may arrive before the submission's own outcome is recorded (the provider is
    /// faster than our batch write), so `delivered` is accepted from `queued` and `sending`
    /// too — a queued retry of a message that did arrive is then not sent again — and the
    /// recorder's `accepted` keeps a receipt's verdict (see ``afterAccepted``).
    public func after(_ event: Event) -> MessageStatus? {
        switch (self, event) {
        case (.queued, .claim): .sending
        case (.queued, .cancel): .canceled
        case (.sending, .accepted): .sent
        case (.sending, .retry), (.sending, .leaseExpired): .queued
        case (.sending, .refused): .failed
        case (.queued, .deliveredReceipt), (.sending, .deliveredReceipt), (.sent, .deliveredReceipt),
             (.undelivered, .deliveredReceipt): .delivered
        case (.sending, .undeliveredReceipt), (.sent, .undeliveredReceipt): .undelivered
        case (.sending, .failedReceipt), (.sent, .failedReceipt): .failed
        // A receipt that beat the recorder: the submission's success does not undo it.
        case (.delivered, .accepted), (.undelivered, .accepted): self
        default: nil
        }
    }

    /// The statuses from which `event` is allowed, for statements that apply it to many rows.
    public static func sources(of event: Event) -> [MessageStatus] {
        allCases.filter { $0.after(event) != nil }
    }
}

/// A stored value that this version of the code does not know (a newer version wrote it, or
/// someone edited the row by hand). Reading it fails loudly instead of guessing.
public struct UnknownValue: Error, Sendable, Equatable, CustomStringConvertible {
    public let type: String
    public let value: String

    public init(type: String, value: String) {
        self.type = type
        self.value = value
    }

    /// Parses `raw` as `T`, or throws naming the type and the value.
    public static func parse<T: RawRepresentable>(_ raw: String, as _: T.Type = T.self) throws(UnknownValue) -> T
    where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw UnknownValue(type: String(describing: T.self), value: raw) }
        return value
    }

    public var description: String { "unknown \(type) '\(value)' read from storage" }
}
