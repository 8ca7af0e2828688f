import Testing
@testable import ReferralRouter

@Suite("RetryPolicy: full jitter, cap and Retry-After")
struct RetryPolicyTests {
    private func samples(_ policy: RetryPolicy, attempt: Int, retryAfter: Duration? = nil, count: Int = 400, seed: UInt64 = 7) -> [Duration] {
        var random = SplitMix64(seed: seed &+ UInt64(bitPattern: Int64(attempt)))
        return (0..<count).map { _ in policy.delay(afterFailedAttempts: attempt, retryAfter: retryAfter, using: &random) }
    }

    @Test(arguments: 1...10)
    func fullJitterSpansZeroToTheExponentialCeiling(attempt: Int) {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(10_000), retryAfterMax: .seconds(3600))
        let ceiling = Duration.seconds(1 << (attempt - 1))
        let delays = samples(policy, attempt: attempt)
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
        // Full jitter, not "ceiling/2 + jitter": the whole range is used.
        #expect(delays.min()! < ceiling * 0.1)
        #expect(delays.max()! > ceiling * 0.9)
    }

    @Test func theCapBoundsEveryDelay() {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(30), retryAfterMax: .seconds(3600))
        for attempt in [6, 7, 10, 61, 1_000, Int.max] {
            let delays = samples(policy, attempt: attempt)
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= .seconds(30) }, "attempt \(attempt)")
            #expect(delays.max()! > .seconds(27), "attempt \(attempt)")
        }
    }

    @Test func aFirstOrNonsenseAttemptNumberUsesTheBase() {
        let policy = RetryPolicy(base: .milliseconds(500), cap: .seconds(30), retryAfterMax: .seconds(60))
        for attempt in [-3, 0, 1] {
            #expect(samples(policy, attempt: attempt).allSatisfy { $0 >= .zero && $0 <= .milliseconds(500) })
        }
    }

    @Test func theSameSeedGivesTheSameDelays() {
        let policy = RetryPolicy(base: .seconds(2), cap: .seconds(300), retryAfterMax: .seconds(600))
        #expect(samples(policy, attempt: 4, seed: 99) == samples(policy, attempt: 4, seed: 99))
        #expect(samples(policy, attempt: 4, seed: 99) != samples(policy, attempt: 4, seed: 100))
    }

    @Test func retryAfterIsAFloorUnderTheJitter() {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(60), retryAfterMax: .seconds(3600))
        let delays = samples(policy, attempt: 7, retryAfter: .seconds(20))
        #expect(delays.allSatisfy { $0 >= .seconds(20) && $0 <= .seconds(60) })
        #expect(delays.contains { $0 > .seconds(20) })
        #expect(delays.contains { $0 == .seconds(20) })
    }

    @Test func retryAfterIsClampedToTheMaximum() {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(30), retryAfterMax: .seconds(120))
        let delays = samples(policy, attempt: 3, retryAfter: .seconds(86_400))
        #expect(delays.allSatisfy { $0 == .seconds(120) })
    }

    @Test func aNegativeRetryAfterIsNoFloor() {
        let policy = RetryPolicy(base: .seconds(1), cap: .seconds(30), retryAfterMax: .seconds(120))
        let delays = samples(policy, attempt: 2, retryAfter: .seconds(-50))
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .seconds(2) })
    }

    @Test func aZeroBaseNeverWaits() {
        let policy = RetryPolicy(base: .zero, cap: .seconds(30), retryAfterMax: .seconds(120))
        #expect(samples(policy, attempt: 5, count: 20).allSatisfy { $0 == .zero })
    }
}
