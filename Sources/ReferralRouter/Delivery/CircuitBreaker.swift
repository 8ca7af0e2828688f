/// One destination's breaker, a pure state machine over monotonic instants (Postfix's "dead
/// destination"): after `threshold` consecutive failures it opens and nothing is sent; after the
/// cool-down one probe goes; a successful probe closes it and sending ramps back up (1, 2, 4, … in
/// flight); a failed probe reopens it. Other destinations never notice.
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen
    }

    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
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

    /// Returns true when this failure opened the breaker.
    @discardableResult
    public mutating func recordFailure(now: ContinuousClock.Instant) -> Bool {
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
