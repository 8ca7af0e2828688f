/// One destination's pending deliveries, in memory: ids and timing only, payloads stay on disk.
/// Ready work is taken by priority (immediate, urgent, routine) and then in arrival order, so an
/// immediate referral overtakes any backlog; deferred work waits on the monotonic clock.
struct DestinationQueue: Sendable {
    struct Ready: Comparable, Sendable {
        var priority: DeliveryPriority
        var id: Int64
        static func < (lhs: Ready, rhs: Ready) -> Bool {
            (lhs.priority.rawValue, lhs.id) < (rhs.priority.rawValue, rhs.id)
        }
    }
    struct Waiting: Comparable, Sendable {
        var due: ContinuousClock.Instant
        var ready: Ready
        static func < (lhs: Waiting, rhs: Waiting) -> Bool {
            lhs.due == rhs.due ? lhs.ready < rhs.ready : lhs.due < rhs.due
        }
    }

    private var ready = Heap<Ready>()
    private var waiting = Heap<Waiting>()
    /// Every id queued or in flight, so nothing is scheduled twice.
    private(set) var known: Set<Int64> = []
    private(set) var inFlight: Set<Int64> = []
    private var readyImmediate = 0

    var pendingCount: Int { known.count }
    var readyCount: Int { ready.count }
    var waitingCount: Int { waiting.count }
    var nextDue: ContinuousClock.Instant? { waiting.min?.due }

    /// Adds a delivery due at `due` (now or later). Ignores one already known.
    mutating func add(id: Int64, priority: DeliveryPriority, due: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        guard known.insert(id).inserted else { return }
        let entry = Ready(priority: priority, id: id)
        if due <= now { ready.insert(entry) } else { waiting.insert(Waiting(due: due, ready: entry)) }
    }

    /// Moves waiting work whose time has come to the ready heap.
    mutating func promoteDue(now: ContinuousClock.Instant) {
        while let next = waiting.min, next.due <= now {
            _ = waiting.popMin()
            ready.insert(next.ready)
        }
    }

    /// Makes every deferred delivery due now: after a reload that may have fixed what kept them waiting.
    mutating func promoteAll() {
        while let next = waiting.popMin() {
            ready.insert(next.ready)
        }
    }

    /// The highest-priority ready delivery, now marked in flight.
    mutating func takeNext() -> Ready? {
        guard let next = ready.popMin() else { return nil }
        inFlight.insert(next.id)
        return next
    }

    /// The attempt finished: done for good (delivered or dead) or deferred until `retryAt`.
    mutating func finish(id: Int64, priority: DeliveryPriority, retryAt: ContinuousClock.Instant?) {
        inFlight.remove(id)
        guard let retryAt else {
            known.remove(id)
            return
        }
        waiting.insert(Waiting(due: retryAt, ready: Ready(priority: priority, id: id)))
    }

    /// Drops an id that turned out not to be pending any more (delivered elsewhere, corrupt).
    mutating func forget(id: Int64) {
        inFlight.remove(id)
        known.remove(id)
    }
}
