import SMS
import Testing

@Suite struct BackoffTests {
    let backoff = Backoff(base: .seconds(1), cap: .seconds(60))

    @Test("the ceiling doubles per failure up to the cap")
    func ceilingDoubles() {
        #expect(backoff.ceiling(afterFailures: 1) == .seconds(1))
        #expect(backoff.ceiling(afterFailures: 2) == .seconds(2))
        #expect(backoff.ceiling(afterFailures: 3) == .seconds(4))
        #expect(backoff.ceiling(afterFailures: 7) == .seconds(60))
        #expect(backoff.ceiling(afterFailures: 1000) == .seconds(60))
        #expect(backoff.ceiling(afterFailures: 0) == .seconds(1))
        #expect(backoff.ceiling(afterFailures: -5) == .seconds(1))
    }

    @Test("delays stay within half the ceiling and the ceiling, for every jitter draw")
    func jitterBounds() {
        for failures in 1...20 {
            let ceiling = backoff.ceiling(afterFailures: failures)
            for step in 0...100 {
                let delay = backoff.delay(afterFailures: failures, unit: Double(step) / 100)
                #expect(delay >= ceiling / 2 && delay <= ceiling)
            }
            #expect(backoff.delay(afterFailures: failures, unit: 0) == ceiling / 2)
            #expect(backoff.delay(afterFailures: failures, unit: 1) == ceiling)
            // Out-of-range draws are clamped, never negative or beyond the ceiling.
            #expect(backoff.delay(afterFailures: failures, unit: -3) == ceiling / 2)
            #expect(backoff.delay(afterFailures: failures, unit: 7) == ceiling)
        }
    }

    @Test("Retry-After is a floor, never shortened by jitter")
    func retryAfterIsAFloor() {
        #expect(backoff.delay(afterFailures: 1, retryAfter: .seconds(30), unit: 0.5) == .seconds(30))
        // A Retry-After shorter than the backoff does not speed things up.
        #expect(backoff.delay(afterFailures: 5, retryAfter: .seconds(1), unit: 0) == .seconds(8))
        for _ in 0..<1000 {
            #expect(backoff.delay(afterFailures: Int.random(in: 1...12), retryAfter: .seconds(3)) >= .seconds(3))
        }
    }

    @Test("sub-second bases work for fast test configurations")
    func subSecond() {
        let fast = Backoff(base: .milliseconds(50), cap: .milliseconds(400))
        #expect(fast.ceiling(afterFailures: 1) == .milliseconds(50))
        #expect(fast.ceiling(afterFailures: 4) == .milliseconds(400))
        #expect(fast.ceiling(afterFailures: 5) == .milliseconds(400))
    }
}
