import NIOConcurrencyHelpers

/// Which provider API a request came through.
public enum SimulatedAPI: String, Sendable, Codable {
    case twilio, vonage
}

/// One message (or call) the simulator accepted, as `GET /sim/messages` lists it.
public struct SimulatedMessage: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case sms, call }

    /// The provider's id as answered (`SM…`, `CA…`, or Vonage's first part's `message-id`).
    public var id: String
    public var api: SimulatedAPI
    /// E.164 (Vonage's `to` gets its `+`).
    public var to: String
    /// The sender (`From`, else `MessagingServiceSid`; Vonage's `from`).
    public var from: String
    /// The SMS text, or the call's `Twiml` / `Url`.
    public var body: String
    public var kind: Kind
    /// Seconds since 1970.
    public var receivedAt: Double
    /// SMS parts (1 for a call).
    public var segments: Int
    /// The final receipt this message gets (or would get, with a callback URL): `delivered` or
    /// `undelivered`.
    public var receipt: String
}

/// Counts by outcome since start or the last `DELETE /sim/messages`.
public struct SimulatorStatistics: Sendable, Equatable {
    /// Provider API requests (Twilio and Vonage), whatever their outcome.
    public var requests = 0
    public var accepted = 0
    /// Answered 500 by `errorRate`.
    public var errors = 0
    /// Answered 429 by `throttleRate`.
    public var throttled = 0
    /// Never answered, by `hangRate`.
    public var hung = 0
    /// Wrong credentials or signature (Twilio 401 / 20003, Vonage status 4 or 14).
    public var unauthorized = 0
    /// Refused as the provider would (missing or bad parameters).
    public var invalid = 0
    public var receiptsSent = 0
    /// Receipts given up after every retry.
    public var receiptsFailed = 0
    /// Accepted messages whose (to, body) had been accepted before.
    public var duplicates = 0
    /// Requests whose (to, body) was answered 429 less than `Retry-After` (1 s) earlier.
    public var earlyRetries = 0
    /// Hung requests held right now (a gauge: a reset does not zero it).
    public var hanging = 0

    public init() {}
}

/// What the dice said for one request.
enum Outcome: Sendable {
    case accept(Acceptance)
    case error
    case throttle
    case hang
}

/// An accepted request: its ids and what its receipt will say.
struct Acceptance: Sendable {
    /// One sequence number per id the request needs (Vonage: one per part).
    var sequence: UInt64
    var undelivered: Bool
}

/// Everything mutable, behind one lock that is never held across an `await`.
final class SimulatorState: Sendable {
    private struct Storage {
        var faults: FaultSettings
        var random: SplitMix64
        var sequence: UInt64 = 0
        var statistics = SimulatorStatistics()
        /// A ring: `messages[head...]` then `messages[..<head]` once full.
        var messages: [SimulatedMessage] = []
        var head = 0
        /// Hashes of (to, body) of accepted messages.
        var acceptedKeys: Set<Int> = []
        /// (to, body) hash → when it was last throttled (monotonic nanoseconds).
        var throttledAt: [Int: UInt64] = [:]
        var hanging = 0
    }

    private let storage: NIOLockedValueBox<Storage>
    let maxStoredMessages: Int
    /// Salts that make ids differ between runs (unless seeded).
    let idSalt: (UInt64, UInt64)

    init(options: SimulatorOptions) {
        var seeder = options.seed.map { SplitMix64(seed: $0) } ?? SplitMix64(seed: UInt64.random(in: .min ... .max))
        idSalt = (seeder.next(), seeder.next())
        storage = NIOLockedValueBox(Storage(faults: options.faults, random: SplitMix64(seed: seeder.next())))
        maxStoredMessages = options.maxStoredMessages
    }

    var faults: FaultSettings { storage.withLockedValue { $0.faults } }

    func setFaults(_ faults: FaultSettings) { storage.withLockedValue { $0.faults = faults } }

    var statistics: SimulatorStatistics {
        storage.withLockedValue { storage in
            var statistics = storage.statistics
            statistics.hanging = storage.hanging
            return statistics
        }
    }

    func hangingChanged(by delta: Int) { storage.withLockedValue { $0.hanging += delta } }

    /// Stored messages in the order received.
    var messages: [SimulatedMessage] {
        storage.withLockedValue { storage in
            guard storage.head > 0 else { return storage.messages }
            return Array(storage.messages[storage.head...] + storage.messages[..<storage.head])
        }
    }

    func reset() {
        storage.withLockedValue { storage in
            storage.statistics = SimulatorStatistics()
            storage.messages = []
            storage.head = 0
            storage.acceptedKeys = []
            storage.throttledAt = [:]
        }
    }

    func countUnauthorized() { storage.withLockedValue { $0.statistics.requests += 1; $0.statistics.unauthorized += 1 } }
    func countInvalid() { storage.withLockedValue { $0.statistics.requests += 1; $0.statistics.invalid += 1 } }
    func countReceipt(sent: Bool) {
        storage.withLockedValue { if sent { $0.statistics.receiptsSent += 1 } else { $0.statistics.receiptsFailed += 1 } }
    }

    /// Rolls the dice for a valid request and records the outcome, in one short critical section.
    /// `ids` sequence numbers are reserved for an accepted request; `message` is stored when
    /// accepted, with its id made from the first of them.
    func decide(
        key: Int, ids: Int, now: UInt64, makeMessage: (UInt64, Bool) -> SimulatedMessage
    ) -> (Outcome, FaultSettings) {
        storage.withLockedValue { storage in
            storage.statistics.requests += 1
            if !storage.throttledAt.isEmpty, let last = storage.throttledAt[key], now &- last < 1_000_000_000 {
                storage.statistics.earlyRetries += 1
            }
            let faults = storage.faults
            let roll = faults.errorRate + faults.throttleRate + faults.hangRate > 0 ? storage.random.nextUnit() : 1
            if roll < faults.errorRate {
                storage.statistics.errors += 1
                return (.error, faults)
            }
            if roll < faults.errorRate + faults.throttleRate {
                storage.statistics.throttled += 1
                if storage.throttledAt.count >= 10_000 {
                    storage.throttledAt = storage.throttledAt.filter { now &- $0.value < 1_000_000_000 }
                }
                storage.throttledAt[key] = now
                return (.throttle, faults)
            }
            if roll < faults.errorRate + faults.throttleRate + faults.hangRate {
                storage.statistics.hung += 1
                return (.hang, faults)
            }
            storage.statistics.accepted += 1
            if !storage.acceptedKeys.insert(key).inserted { storage.statistics.duplicates += 1 }
            let sequence = storage.sequence
            storage.sequence += UInt64(ids)
            let undelivered = faults.undeliveredRate > 0 && storage.random.nextUnit() < faults.undeliveredRate
            if maxStoredMessages > 0 {
                let message = makeMessage(sequence, undelivered)
                if storage.messages.count < maxStoredMessages {
                    storage.messages.append(message)
                } else {
                    storage.messages[storage.head] = message
                    storage.head = (storage.head + 1) % maxStoredMessages
                }
            }
            return (.accept(Acceptance(sequence: sequence, undelivered: undelivered)), faults)
        }
    }

    /// A 64-bit id unique to `sequence` (SplitMix64's finaliser is a bijection).
    func id64(_ sequence: UInt64) -> UInt64 { SplitMix64.mix(sequence ^ idSalt.0) }

    /// 32 lowercase hex digits unique to `sequence`, as Twilio's SIDs carry after their prefix.
    func sid(_ prefix: String, _ sequence: UInt64) -> String {
        var out = prefix
        out.reserveCapacity(prefix.utf8.count + 32)
        Hex.append(id64(sequence), to: &out)
        Hex.append(SplitMix64.mix(sequence &+ idSalt.1), to: &out)
        return out
    }

    /// Vonage's `message-id`: 16 uppercase hex digits (`0C000000217B7F02`).
    func vonageID(_ sequence: UInt64) -> String {
        var out = ""
        out.reserveCapacity(16)
        Hex.append(id64(sequence), uppercase: true, to: &out)
        return out
    }

    static func key(to: String, body: String) -> Int {
        var hasher = Hasher()
        hasher.combine(to)
        hasher.combine(body)
        return hasher.finalize()
    }
}
