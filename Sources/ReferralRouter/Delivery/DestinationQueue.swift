/// One destination's pending deliveries, in memory: ids and timing only, payloads stay on disk.
/// Ready work is taken by priority (immediate, urgent, routine) and then in arrival order, so an
/// immediate referral overtakes any backlog; deferred work waits on the monotonic clock.
///
/// A delivery taken out of the queue while it waits (`forget`, when it expires behind an open
/// breaker) leaves its heap entry behind: each entry carries the generation its id had when it was
/// queued, and an entry whose generation is no longer current is dropped when it surfaces. So an id
/// queued again later can never be taken twice.
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
        var generation: UInt64
        static func < (lhs: Waiting, rhs: Waiting) -> Bool {
            lhs.due == rhs.due ? lhs.ready < rhs.ready : lhs.due < rhs.due
        }
    }
    private struct Entry: Comparable, Sendable {
        var ready: Ready
        var generation: UInt64
        static func < (lhs: Entry, rhs: Entry) -> Bool { lhs.ready < rhs.ready }
    }

    private var ready = Heap<Entry>()
    private var waiting = Heap<Waiting>()
    /// Every id queued or in flight, with its current generation, so nothing is scheduled twice.
    private var generations: [Int64: UInt64] = [:]
    private var nextGeneration: UInt64 = 0
    private(set) var inFlight: Set<Int64> = []

    var pendingCount: Int { generations.count }
    /// Ready entries, counting any left behind by `forget` until they surface.
    var readyCount: Int { ready.count }
    var waitingCount: Int { waiting.count }
    var nextDue: ContinuousClock.Instant? { waiting.min?.due }

    /// Every id queued or in flight (for inspection; `contains` is the cheap question).
    var known: Set<Int64> { Set(generations.keys) }

    /// Whether `id` is queued or in flight.
    func contains(_ id: Int64) -> Bool { generations[id] != nil }

    /// Adds a delivery due at `due` (now or later). Ignores one already known.
    mutating func add(id: Int64, priority: DeliveryPriority, due: ContinuousClock.Instant, now: ContinuousClock.Instant) {
        guard generations[id] == nil else { return }
        nextGeneration &+= 1
        generations[id] = nextGeneration
        let entry = Ready(priority: priority, id: id)
        if due <= now {
            ready.insert(Entry(ready: entry, generation: nextGeneration))
        } else {
            waiting.insert(Waiting(due: due, ready: entry, generation: nextGeneration))
        }
    }

    /// Moves waiting work whose time has come to the ready heap.
    mutating func promoteDue(now: ContinuousClock.Instant) {
        while let next = waiting.min, next.due <= now {
            _ = waiting.popMin()
            promote(next)
        }
    }

    /// Makes every deferred delivery due now: after a reload that may have fixed what kept them waiting.
    mutating func promoteAll() {
        while let next = waiting.popMin() {
            promote(next)
        }
    }

    private mutating func promote(_ waiting: Waiting) {
        guard isCurrent(waiting.ready.id, waiting.generation) else { return }
        ready.insert(Entry(ready: waiting.ready, generation: waiting.generation))
    }

    private func isCurrent(_ id: Int64, _ generation: UInt64) -> Bool {
        generations[id] == generation && !inFlight.contains(id)
    }

    /// The highest-priority ready delivery, now marked in flight.
    mutating func takeNext() -> Ready? {
        while let next = ready.popMin() {
            guard isCurrent(next.ready.id, next.generation) else { continue }
            inFlight.insert(next.ready.id)
            return next.ready
        }
        return nil
    }

    /// The attempt finished: done for good (delivered or dead) or deferred until `retryAt`.
    mutating func finish(id: Int64, priority: DeliveryPriority, retryAt: ContinuousClock.Instant?) {
        inFlight.remove(id)
        guard let generation = generations[id] else { return }
        guard let retryAt else {
            generations[id] = nil
            return
        }
        waiting.insert(Waiting(due: retryAt, ready: Ready(priority: priority, id: id), generation: generation))
    }

    /// Drops an id that is not to be sent from here (delivered elsewhere, corrupt, or expired while it
    /// waited). Any heap entry it has is ignored from now on.
    mutating func forget(id: Int64) {
        inFlight.remove(id)
        generations[id] = nil
    }
}
