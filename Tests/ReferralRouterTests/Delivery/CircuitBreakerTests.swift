import Testing
@testable import ReferralRouter

/// The breaker is a pure state machine: these tests feed it plain monotonic instants, no sleeping.
@Suite("CircuitBreaker")
struct CircuitBreakerTests {
    let start = ContinuousClock.now
    let coolDown = Duration.seconds(30)
    let maximum = 16

    private func opened(threshold: Int = 3, at instant: ContinuousClock.Instant) -> CircuitBreaker {
        var breaker = CircuitBreaker(threshold: threshold, coolDown: coolDown)
        for _ in 0..<threshold { breaker.recordFailure(now: instant) }
        return breaker
    }

    @Test func staysClosedUntilThresholdConsecutiveFailuresThenOpens() {
        var breaker = CircuitBreaker(threshold: 5, coolDown: coolDown)
        for failure in 1...4 {
            #expect(breaker.recordFailure(now: start) == false, "failure \(failure)")
            #expect(!breaker.isOpen)
            #expect(breaker.allowedInFlight(now: start, maximum: maximum) == maximum)
        }
        #expect(breaker.consecutiveFailures == 4)
        #expect(breaker.recordFailure(now: start) == true)
        #expect(breaker.isOpen)
        #expect(breaker.state == .open(until: start + coolDown))
        #expect(breaker.reopensAt == start + coolDown)
    }

    @Test func aSuccessResetsTheCount() {
        var breaker = CircuitBreaker(threshold: 3, coolDown: coolDown)
        breaker.recordFailure(now: start)
        breaker.recordFailure(now: start)
        breaker.recordSuccess(maximum: maximum)
        #expect(breaker.consecutiveFailures == 0)
        breaker.recordFailure(now: start)
        #expect(breaker.recordFailure(now: start) == false)
        #expect(!breaker.isOpen)
        #expect(breaker.recordFailure(now: start) == true)
    }

    @Test func anOpenBreakerAllowsNothingUntilTheCoolDownThenExactlyOneProbe() {
        var breaker = opened(at: start)
        for offset in [Duration.zero, .seconds(1), .seconds(29), coolDown - .nanoseconds(1)] {
            #expect(breaker.allowedInFlight(now: start + offset, maximum: maximum) == 0, "at +\(offset)")
            #expect(breaker.reopensAt == start + coolDown)
        }
        #expect(breaker.allowedInFlight(now: start + coolDown, maximum: maximum) == 1)
        #expect(breaker.state == .halfOpen)
        #expect(breaker.reopensAt == nil)
        #expect(breaker.isOpen)
        // Still one while the probe is out, however much later it is asked.
        #expect(breaker.allowedInFlight(now: start + .seconds(3600), maximum: maximum) == 1)
    }

    @Test func aSuccessfulProbeClosesAndRampsUpByDoublingToTheMaximum() {
        var breaker = opened(at: start)
        _ = breaker.allowedInFlight(now: start + coolDown, maximum: maximum)
        breaker.recordSuccess(maximum: maximum)
        #expect(breaker.state == .closed)
        #expect(!breaker.isOpen)
        var allowed: [Int] = [breaker.allowedInFlight(now: start + coolDown, maximum: maximum)]
        for _ in 0..<5 {
            breaker.recordSuccess(maximum: maximum)
            allowed.append(breaker.allowedInFlight(now: start + coolDown, maximum: maximum))
        }
        #expect(allowed == [2, 4, 8, 16, 16, 16])
        #expect(breaker.rampLimit == nil)
    }

    @Test func theRampNeverExceedsASmallMaximum() {
        for maximum in [1, 2, 3, 5] {
            var breaker = opened(at: start)
            _ = breaker.allowedInFlight(now: start + coolDown, maximum: maximum)
            breaker.recordSuccess(maximum: maximum)
            for _ in 0..<4 {
                #expect(breaker.allowedInFlight(now: start + coolDown, maximum: maximum) <= maximum)
                breaker.recordSuccess(maximum: maximum)
            }
            #expect(breaker.allowedInFlight(now: start + coolDown, maximum: maximum) == maximum)
        }
    }

    @Test func aFailedProbeReopensWithANewDeadline() {
        var breaker = opened(at: start)
        let probeAt = start + coolDown + .seconds(5)
        #expect(breaker.allowedInFlight(now: probeAt, maximum: maximum) == 1)
        let failedAt = probeAt + .seconds(2)
        #expect(breaker.recordFailure(now: failedAt) == true)
        #expect(breaker.state == .open(until: failedAt + coolDown))
        #expect(breaker.allowedInFlight(now: failedAt + coolDown - .milliseconds(1), maximum: maximum) == 0)
        #expect(breaker.allowedInFlight(now: failedAt + coolDown, maximum: maximum) == 1)
    }

    @Test func aLateFailureWhileOpenDoesNotMoveTheDeadline() {
        var breaker = opened(at: start)
        #expect(breaker.recordFailure(now: start + .seconds(10)) == false)
        #expect(breaker.reopensAt == start + coolDown)
    }

    @Test func aLateSuccessWhileOpenClosesAndRampsFromOne() {
        var breaker = opened(at: start)
        breaker.recordSuccess(maximum: maximum)
        #expect(breaker.state == .closed)
        #expect(breaker.allowedInFlight(now: start, maximum: maximum) == 1)
        breaker.recordSuccess(maximum: maximum)
        #expect(breaker.allowedInFlight(now: start, maximum: maximum) == 2)
    }

    @Test func aFailureDuringTheRampCountsTowardsTheThresholdAgain() {
        var breaker = opened(threshold: 2, at: start)
        _ = breaker.allowedInFlight(now: start + coolDown, maximum: maximum)
        breaker.recordSuccess(maximum: maximum)
        #expect(breaker.recordFailure(now: start + coolDown) == false)
        #expect(breaker.allowedInFlight(now: start + coolDown, maximum: maximum) == 2)
        #expect(breaker.recordFailure(now: start + coolDown + .seconds(1)) == true)
        #expect(breaker.reopensAt == start + coolDown + .seconds(1) + coolDown)
    }

    @Test func failuresOfAttemptsAlreadyInFlightWhenOneWasCountedAddNothing() {
        var breaker = CircuitBreaker(threshold: 3, coolDown: coolDown)
        // 64 transfers started together, all failing as their connection drops.
        for index in 1...64 {
            #expect(breaker.recordFailure(now: start + .milliseconds(index), startedAt: start) == false)
        }
        #expect(breaker.consecutiveFailures == 1)
        #expect(!breaker.isOpen)
        // Attempts started after that failure count again: a partner that stays down still opens it.
        let second = start + .seconds(1)
        #expect(breaker.recordFailure(now: second + .milliseconds(5), startedAt: second) == false)
        #expect(breaker.recordFailure(now: second + .milliseconds(6), startedAt: second) == false, "in flight with the second")
        #expect(breaker.consecutiveFailures == 2)
        let third = start + .seconds(2)
        #expect(breaker.recordFailure(now: third + .milliseconds(5), startedAt: third) == true)
        #expect(breaker.state == .open(until: third + .milliseconds(5) + coolDown))
    }

    @Test func aStaleFailureWhileHalfOpenLeavesTheProbeToDecide() {
        var breaker = opened(at: start)
        let probeAt = start + coolDown
        #expect(breaker.allowedInFlight(now: probeAt, maximum: maximum) == 1)
        // A transfer started before the breaker opened fails late (a slow timeout): not the probe.
        #expect(breaker.recordFailure(now: probeAt + .seconds(1), startedAt: start - .seconds(5)) == false)
        #expect(breaker.state == .halfOpen)
        // The probe itself fails: open again.
        #expect(breaker.recordFailure(now: probeAt + .seconds(2), startedAt: probeAt) == true)
        #expect(breaker.state == .open(until: probeAt + .seconds(2) + coolDown))
    }

    @Test func aThresholdBelowOneMeansOne() {
        var breaker = CircuitBreaker(threshold: 0, coolDown: coolDown)
        #expect(breaker.threshold == 1)
        #expect(breaker.recordFailure(now: start) == true)
    }

    @Test func aReloadKeepsAnOpenBreakerOpenUntilItsDeadline() {
        var breaker = opened(at: start)
        breaker.reconfigure(threshold: 10, coolDown: .seconds(5))
        #expect(breaker.isOpen)
        #expect(breaker.reopensAt == start + coolDown)
        #expect(breaker.allowedInFlight(now: start + .seconds(6), maximum: maximum) == 0)
        #expect(breaker.allowedInFlight(now: start + coolDown, maximum: maximum) == 1)
        // The next opening uses the new cool-down.
        #expect(breaker.recordFailure(now: start + coolDown) == true)
        #expect(breaker.reopensAt == start + coolDown + .seconds(5))
    }

    @Test func aReloadKeepsTheFailureCountAndAppliesTheNewThreshold() {
        var breaker = CircuitBreaker(threshold: 5, coolDown: coolDown)
        for _ in 0..<3 { breaker.recordFailure(now: start) }
        breaker.reconfigure(threshold: 3, coolDown: coolDown)
        #expect(breaker.consecutiveFailures == 3)
        #expect(breaker.threshold == 3)
        #expect(breaker.recordFailure(now: start) == true)

        var lenient = CircuitBreaker(threshold: 2, coolDown: coolDown)
        lenient.recordFailure(now: start)
        lenient.reconfigure(threshold: 0, coolDown: coolDown)
        #expect(lenient.threshold == 1)
    }
}
