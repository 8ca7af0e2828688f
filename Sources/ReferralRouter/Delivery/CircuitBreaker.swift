/// One destination's breaker, a pure state machine over monotonic instants (Postfix's "dead
/// destination"): after `threshold` consecutive failures it opens and nothing is sent; after the
/// cool-down one probe goes; a successful probe closes it and sending ramps back up (1, 2, 4, … in
/// flight); a failed probe reopens it. Other destinations never notice.
///
/// Failures are counted by attempt start: one that was already in flight when a failure was counted
/// adds nothing. Transfers multiplexed on one HTTP/2 connection fail together when it drops; counted
/// one by one, a single reset would pause a healthy partner for the whole cool-down.
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen
    }

    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    /// When the last counted failure was recorded.
    public private(set) var lastCountedFailure: ContinuousClock.Instant?
    /// While ramping up after a probe: the concurrency currently allowed.
    public private(set) var rampLimit: Int?
    public private(set) var threshold: Int
    public private(set) var coolDown: Duration

    public init(threshold: Int, coolDown: Duration) {
        self.threshold = max(threshold, 1)
        self.coolDown = coolDown
    }

    /// New settings after a reload. The state is kept (an open breaker stays open until its
    /// cool-down ends), so a reload never hides a failing partner nor floods a paused one.
    public mutating func reconfigure(threshold: Int, coolDown: Duration) {
        self.threshold = max(threshold, 1)
        self.coolDown = coolDown
    }

    /// How many transfers may be in flight now (0 while open; 1 for the probe).
    public mutating func allowedInFlight(now: ContinuousClock.Instant, maximum: Int) -> Int {
        switch state {
        case .closed:
            return min(rampLimit ?? maximum, maximum)
        case .open(let until):
            guard now >= until else { return 0 }
            state = .halfOpen
            return 1
        case .halfOpen:
            return 1
        }
    }

    /// When an open breaker lets the next probe through.
    public var reopensAt: ContinuousClock.Instant? {
        if case .open(let until) = state { return until }
        return nil
    }

    public var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    public mutating func recordSuccess(maximum: Int) {
        consecutiveFailures = 0
        switch state {
        case .halfOpen:
            state = .closed
            rampLimit = min(2, maximum)
        case .closed:
            if let limit = rampLimit {
                rampLimit = limit * 2 >= maximum ? nil : limit * 2
            }
        case .open:
            // A transfer started before the breaker opened has succeeded: the partner is back.
            state = .closed
            rampLimit = 1
        }
    }

    /// A failed attempt that started at `startedAt` (nil: just now). Returns true when this failure
    /// opened the breaker. One started before the last counted failure is part of the same event.
    @discardableResult
    public mutating func recordFailure(now: ContinuousClock.Instant, startedAt: ContinuousClock.Instant? = nil) -> Bool {
        if let last = lastCountedFailure, (startedAt ?? now) < last { return false }
        lastCountedFailure = now
        consecutiveFailures += 1
        switch state {
        case .halfOpen:
            state = .open(until: now + coolDown)
            return true
        case .closed:
            guard consecutiveFailures >= threshold else { return false }
            state = .open(until: now + coolDown)
            rampLimit = nil
            return true
        case .open:
            return false
        }
    }
}
