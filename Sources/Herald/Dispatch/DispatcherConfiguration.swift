import Foundation
import SMS

/// Knobs of the dispatcher. Defaults suit production; tests shorten the times.
public struct DispatcherConfiguration: Sendable {
    /// Messages claimed and not yet recorded, at most: submissions in flight plus outcomes
    /// waiting to be written. It bounds what a crash can send twice. One curl multi loop
    /// carries the submissions.
    public var window = 1024
    /// Most rows claimed per statement.
    public var batchSize = 500
    /// Slots of the window that marketing never takes, so a code is claimed and submitted at
    /// once even while a campaign keeps the rest full.
    public var transactionalReserve = 64
    /// Connections to one provider host at most (more overflow a provider's accept queue).
    public static let maximumConnectionsPerHost = 512

    /// Marketing in flight at most: within the HTTP client's connections, so a code claimed
    /// later never waits in the client's queue behind a campaign, and short of the reserve.
    public var marketingWindow: Int {
        max(1, min(window, Self.maximumConnectionsPerHost) - transactionalReserve)
    }
    /// How long a claim is ours; a process that dies leaves rows whose lease then expires.
    public var lease: Duration = .seconds(120)
    /// How often an idle dispatcher looks for due messages.
    public var idlePoll: Duration = .milliseconds(100)
    /// How long outcomes wait to be written together.
    public var flushInterval: Duration = .milliseconds(40)
    /// One provider request, start to end.
    public var providerTimeout: Duration = .seconds(15)
    public var backoff = Backoff(base: .seconds(1), cap: .seconds(600))
    /// After this many transient failures a message fails for good.
    public var maxAttempts = 30
    /// Providers tried within one attempt (failover) before backing off.
    public var maxFailover = 3

    public init() {}

    /// Defaults overridden by `HERALD_DISPATCH_WINDOW`, `HERALD_DISPATCH_BATCH`,
    /// `HERALD_PROVIDER_TIMEOUT_MS`, `HERALD_RETRY_BASE_MS`, `HERALD_RETRY_CAP_MS`,
    /// `HERALD_MAX_ATTEMPTS`, `HERALD_LEASE_SECONDS`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DispatcherConfiguration {
        var configuration = DispatcherConfiguration()
        func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            guard let value = Int(raw), range.contains(value) else {
                throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        if let value = try int("HERALD_DISPATCH_WINDOW", 1...20_000) { configuration.window = value }
        if let value = try int("HERALD_DISPATCH_BATCH", 1...5_000) { configuration.batchSize = value }
        if let value = try int("HERALD_PROVIDER_TIMEOUT_MS", 100...300_000) { configuration.providerTimeout = .milliseconds(value) }
        if let value = try int("HERALD_MAX_ATTEMPTS", 1...1000) { configuration.maxAttempts = value }
        if let value = try int("HERALD_RECORD_INTERVAL_MS", 1...1000) { configuration.flushInterval = .milliseconds(value) }
        if let value = try int("HERALD_LEASE_SECONDS", 5...86_400) { configuration.lease = .seconds(value) }
        let base = try int("HERALD_RETRY_BASE_MS", 1...3_600_000)
        let cap = try int("HERALD_RETRY_CAP_MS", 1...86_400_000)
        if base != nil || cap != nil {
            let baseValue = Duration.milliseconds(base ?? 1000)
            let capValue = Duration.milliseconds(max(cap ?? 600_000, base ?? 1000))
            configuration.backoff = Backoff(base: baseValue, cap: capValue)
        }
        // A lease must outlive a submission with room to record it.
        if configuration.lease < configuration.providerTimeout * 2 + .seconds(5) {
            configuration.lease = configuration.providerTimeout * 2 + .seconds(5)
        }
        return configuration
    }
}
