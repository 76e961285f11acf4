import Foundation
import Synchronization

/// The time Herald reads for everything that has a deadline: expiry, cooldowns, rate
/// windows, leases, backoff and schedules. Production reads the system clock; tests hand in
/// an ``AdjustableClock`` and move it forward instead of sleeping.
///
/// Stores pass `clock.now` to SQL as a bound value instead of calling `now()` in the
/// statement, so a test clock reaches the database too. Several processes on one database
/// compare their own clocks: keep them in sync (NTP), as for any distributed queue.
public protocol HeraldClock: Sendable {
    var now: Date { get }
}

/// The system's wall clock.
public struct SystemClock: HeraldClock {
    public init() {}
    public var now: Date { Date() }
}

/// A clock for tests: it runs with the system clock, and a test moves it forward (or back)
/// by hand to make a lease expire, a retry fall due or a window roll over, instead of
/// sleeping. Several Herald instances in one test can share it.
public final class AdjustableClock: HeraldClock {
    private let offset = Mutex<TimeInterval>(0)

    public init() {}

    public var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// Moves the clock by `duration` (negative durations move it back).
    public func advance(by duration: Duration) {
        offset.withLock { $0 += Double(duration.wholeMilliseconds) / 1000 }
    }
}
