/// When to try a message again after a transient failure: exponential backoff with jitter,
/// never sooner than the provider's `Retry-After`.
///
/// The delay before attempt `n + 1` (after `n` failed attempts) is drawn from
/// `[d/2, d]` with `d = min(cap, base · 2^(n-1))` ("equal jitter": never zero, so a failing
/// provider is not hammered, yet spread so retries of a batch do not arrive together).
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .seconds(1), cap: Duration = .seconds(600)) {
        precondition(base > .zero && cap >= base, "backoff needs 0 < base <= cap")
        self.base = base
        self.cap = cap
    }

    /// The ceiling `d` for the delay after `failures` failed attempts (≥ 1).
    public func ceiling(afterFailures failures: Int) -> Duration {
        let exponent = min(max(failures, 1) - 1, 40)
        let baseMilliseconds = base.fractionalMilliseconds
        let capMilliseconds = cap.fractionalMilliseconds
        let milliseconds = min(capMilliseconds, baseMilliseconds * Double(1 << exponent))
        return .milliseconds(Int64(milliseconds.rounded(.up)))
    }

    /// The delay after `failures` failed attempts. `unit` is a random number in `[0, 1)`;
    /// `retryAfter` (the provider's answer) is a floor.
    public func delay(afterFailures failures: Int, retryAfter: Duration? = nil, unit: Double) -> Duration {
        let ceiling = self.ceiling(afterFailures: failures)
        let jitter = max(0, min(unit, 1))
        let drawn = ceiling / 2 + (ceiling / 2) * jitter
        guard let retryAfter, retryAfter > drawn else { return drawn }
        return retryAfter
    }

    public func delay(afterFailures failures: Int, retryAfter: Duration? = nil) -> Duration {
        delay(afterFailures: failures, retryAfter: retryAfter, unit: Double.random(in: 0..<1))
    }
}
