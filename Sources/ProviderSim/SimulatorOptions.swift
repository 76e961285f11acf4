import Providers

/// How a `ProviderSimulator` listens, authenticates and misbehaves.
///
/// The fault shares (`errorRate`, `throttleRate`, `hangRate`) split the requests that pass
/// authentication and validation, so together they are at most 1. `undeliveredRate` is the share
/// of *accepted* messages whose receipt says undelivered, independent of the others.
public struct SimulatorOptions: Sendable, Equatable {
    /// Address to listen on.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 lets the system choose (see `ProviderSimulator.run(onListening:)`).
    public var port: Int = 9099
    /// Extra time before every answer, in milliseconds (a timer, not a blocking sleep).
    public var latencyMs: Int = 0
    /// Share of requests answered 500 with a provider-style error body.
    public var errorRate: Double = 0
    /// Share of requests answered 429 with `Retry-After: 1`.
    public var throttleRate: Double = 0
    /// Share of requests never answered (released when the client disconnects or after `hangTimeout`).
    public var hangRate: Double = 0
    /// Share of accepted messages whose final receipt says undelivered (Twilio 30003, Vonage `failed`).
    public var undeliveredRate: Double = 0
    /// Time between accepting a message and posting its receipt, in milliseconds.
    public var receiptDelayMs: Int = 100
    /// Also post the intermediate receipt (`sent` / `accepted` / `ringing`) before the final one.
    public var sentReceipts: Bool = false
    /// Post receipts at all (off for benchmarks that measure submission alone).
    public var receipts: Bool = true
    /// Twilio: the basic-auth password and the key of `X-Twilio-Signature`.
    public var authToken: String = "sim-auth-token"
    /// Vonage: the `api_secret` requests must carry (any `api_key` is accepted).
    public var vonageAPISecret: String = "sim-api-secret"
    /// Vonage: the secret of signed requests and of the `sig` on receipts.
    public var signatureSecret: String = "sim-signature-secret"
    public var signatureMethod: VonageSignature.Method = .md5hash
    /// Seeds the fault and receipt decisions (and message ids), for repeatable runs; nil picks one.
    public var seed: UInt64?
    /// Messages kept for `GET /sim/messages`; the oldest go first beyond it. Statistics and
    /// duplicate detection are not affected.
    public var maxStoredMessages: Int = 100_000
    /// How long a hung request is held at most.
    public var hangTimeout: Duration = .seconds(600)
    /// Further attempts after a receipt POST fails (network error or a non-2xx answer).
    public var receiptRetries: Int = 2
    /// Wait before the first retry; doubles for each further one.
    public var receiptRetryDelay: Duration = .seconds(1)

    public init() {}

    /// Throws the first value out of range, naming its command-line flag.
    public func validate() throws(SimulatorOptionsError) {
        guard !host.isEmpty else { throw SimulatorOptionsError(option: "--host", message: "must not be empty") }
        guard (0...65535).contains(port) else { throw SimulatorOptionsError(option: "--port", message: "must be 0–65535, got \(port)") }
        try faults.validate()
        guard !authToken.isEmpty else { throw SimulatorOptionsError(option: "--auth-token", message: "must not be empty") }
        guard !vonageAPISecret.isEmpty else { throw SimulatorOptionsError(option: "--vonage-api-secret", message: "must not be empty") }
        guard !signatureSecret.isEmpty else { throw SimulatorOptionsError(option: "--signature-secret", message: "must not be empty") }
        guard maxStoredMessages >= 0 else {
            throw SimulatorOptionsError(option: "--max-messages", message: "must be 0 or more, got \(maxStoredMessages)")
        }
        guard hangTimeout >= .zero else { throw SimulatorOptionsError(option: "hangTimeout", message: "must not be negative") }
        guard receiptRetries >= 0 else { throw SimulatorOptionsError(option: "receiptRetries", message: "must not be negative") }
        guard receiptRetryDelay >= .zero else { throw SimulatorOptionsError(option: "receiptRetryDelay", message: "must not be negative") }
    }

    /// The knobs that `POST /sim/config` can change while running.
    public var faults: FaultSettings {
        get {
            FaultSettings(latencyMs: latencyMs, errorRate: errorRate, throttleRate: throttleRate, hangRate: hangRate,
                          undeliveredRate: undeliveredRate, receiptDelayMs: receiptDelayMs, sentReceipts: sentReceipts,
                          receipts: receipts)
        }
        set {
            latencyMs = newValue.latencyMs; errorRate = newValue.errorRate; throttleRate = newValue.throttleRate
            hangRate = newValue.hangRate; undeliveredRate = newValue.undeliveredRate
            receiptDelayMs = newValue.receiptDelayMs; sentReceipts = newValue.sentReceipts
            receipts = newValue.receipts
        }
    }
}

/// The simulator's behaviour knobs, changeable at run time (`POST /sim/config`).
public struct FaultSettings: Sendable, Equatable {
    public var latencyMs: Int
    public var errorRate: Double
    public var throttleRate: Double
    public var hangRate: Double
    public var undeliveredRate: Double
    public var receiptDelayMs: Int
    public var sentReceipts: Bool
    public var receipts: Bool

    public init(latencyMs: Int = 0, errorRate: Double = 0, throttleRate: Double = 0, hangRate: Double = 0,
                undeliveredRate: Double = 0, receiptDelayMs: Int = 100, sentReceipts: Bool = false, receipts: Bool = true) {
        self.latencyMs = latencyMs; self.errorRate = errorRate; self.throttleRate = throttleRate
        self.hangRate = hangRate; self.undeliveredRate = undeliveredRate
        self.receiptDelayMs = receiptDelayMs; self.sentReceipts = sentReceipts
        self.receipts = receipts
    }

    public func validate() throws(SimulatorOptionsError) {
        for (flag, value) in [("--latency-ms", latencyMs), ("--receipt-delay-ms", receiptDelayMs)] where value < 0 {
            throw SimulatorOptionsError(option: flag, message: "must be 0 or more, got \(value)")
        }
        let rates = [("--error-rate", errorRate), ("--throttle-rate", throttleRate), ("--hang-rate", hangRate),
                     ("--undelivered-rate", undeliveredRate)]
        for (flag, value) in rates where !(0...1).contains(value) {
            throw SimulatorOptionsError(option: flag, message: "must be between 0 and 1, got \(value)")
        }
        let sum = errorRate + throttleRate + hangRate
        guard sum <= 1 + 1e-9 else {
            throw SimulatorOptionsError(
                option: "--error-rate, --throttle-rate, --hang-rate",
                message: "must add up to at most 1 (they split the same requests), got \(sum)")
        }
    }
}

/// An option value out of range.
public struct SimulatorOptionsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The command-line flag (or property) at fault.
    public var option: String
    public var message: String
    public init(option: String, message: String) { self.option = option; self.message = message }
    public var description: String { "\(option) \(message)" }
}
