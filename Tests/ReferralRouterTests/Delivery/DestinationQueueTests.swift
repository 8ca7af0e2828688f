import Testing
@testable import ReferralRouter

/// The in-memory schedule of one destination, driven with plain monotonic instants.
@Suite("DestinationQueue")
struct DestinationQueueTests {
    let now = ContinuousClock.now

    private func drain(_ queue: inout DestinationQueue) -> [Int64] {
        var taken: [Int64] = []
        while let next = queue.takeNext() { taken.append(next.id) }
        return taken
    }

    @Test func anImmediateReferralOvertakesABacklogOfThousandsOfRoutineOnes() {
        var queue = DestinationQueue()
        for id in Int64(1)...5_000 { queue.add(id: id, priority: .routine, due: now, now: now) }
        queue.add(id: 5_001, priority: .immediate, due: now, now: now)
        #expect(queue.takeNext() == .init(priority: .immediate, id: 5_001))
        #expect(queue.readyCount == 5_000)
        #expect(queue.pendingCount == 5_001)
    }

    @Test func urgentGoesBeforeRoutineAndImmediateBeforeBoth() {
        var queue = DestinationQueue()
        queue.add(id: 1, priority: .routine, due: now, now: now)
        queue.add(id: 2, priority: .urgent, due: now, now: now)
        queue.add(id: 3, priority: .routine, due: now, now: now)
        queue.add(id: 4, priority: .immediate, due: now, now: now)
        queue.add(id: 5, priority: .urgent, due: now, now: now)
        #expect(drain(&queue) == [4, 2, 5, 1, 3])
    }

    @Test func withinAPriorityTheOldestGoesFirst() {
        var queue = DestinationQueue()
        var random = SplitMix64(seed: 11)
        let ids = (Int64(1)...300).shuffled(using: &random)
        for id in ids { queue.add(id: id, priority: .urgent, due: now, now: now) }
        #expect(drain(&queue) == Array(1...300))
    }

    @Test func deferredWorkBecomesReadyOnlyAtItsDueInstant() {
        var queue = DestinationQueue()
        let due = now + .seconds(5)
        queue.add(id: 7, priority: .immediate, due: due, now: now)
        #expect(queue.takeNext() == nil)
        #expect(queue.waitingCount == 1)
        #expect(queue.nextDue == due)

        queue.promoteDue(now: due - .nanoseconds(1))
        #expect(queue.takeNext() == nil)
        queue.promoteDue(now: due)
        #expect(queue.takeNext()?.id == 7)
        #expect(queue.nextDue == nil)
    }

    @Test func deferredWorkIsPromotedInDueOrderThenTakenByPriority() {
        var queue = DestinationQueue()
        queue.add(id: 1, priority: .routine, due: now + .seconds(1), now: now)
        queue.add(id: 2, priority: .immediate, due: now + .seconds(3), now: now)
        queue.add(id: 3, priority: .urgent, due: now + .seconds(2), now: now)
        #expect(queue.nextDue == now + .seconds(1))
        queue.promoteDue(now: now + .seconds(2))
        #expect(queue.nextDue == now + .seconds(3))
        #expect(drain(&queue) == [3, 1])
        queue.promoteDue(now: now + .seconds(10))
        #expect(drain(&queue) == [2])
    }

    @Test func aKnownIdIsNeverScheduledTwice() {
        var queue = DestinationQueue()
        queue.add(id: 9, priority: .routine, due: now, now: now)
        queue.add(id: 9, priority: .immediate, due: now, now: now)
        #expect(queue.pendingCount == 1)
        let taken = queue.takeNext()
        #expect(taken == .init(priority: .routine, id: 9))
        // While in flight, a resumed or re-enqueued copy is ignored too.
        queue.add(id: 9, priority: .routine, due: now, now: now)
        #expect(queue.takeNext() == nil)
        #expect(queue.inFlight == [9])
    }

    @Test func finishingWithoutARetryForgetsTheId() {
        var queue = DestinationQueue()
        queue.add(id: 4, priority: .urgent, due: now, now: now)
        _ = queue.takeNext()
        queue.finish(id: 4, priority: .urgent, retryAt: nil)
        #expect(queue.pendingCount == 0)
        #expect(queue.inFlight.isEmpty)
        #expect(!queue.known.contains(4))
        queue.add(id: 4, priority: .urgent, due: now, now: now)
        #expect(queue.takeNext()?.id == 4)
    }

    @Test func finishingWithARetryKeepsTheIdUntilItsDueInstant() {
        var queue = DestinationQueue()
        queue.add(id: 4, priority: .urgent, due: now, now: now)
        _ = queue.takeNext()
        let retryAt = now + .seconds(30)
        queue.finish(id: 4, priority: .urgent, retryAt: retryAt)
        #expect(queue.inFlight.isEmpty)
        #expect(queue.known.contains(4))
        queue.add(id: 4, priority: .urgent, due: now, now: now)
        #expect(queue.takeNext() == nil)
        #expect(queue.nextDue == retryAt)
        queue.promoteDue(now: retryAt)
        #expect(queue.takeNext()?.id == 4)
    }

    @Test func forgettingDropsAnInFlightId() {
        var queue = DestinationQueue()
        queue.add(id: 12, priority: .routine, due: now, now: now)
        _ = queue.takeNext()
        queue.forget(id: 12)
        #expect(queue.inFlight.isEmpty)
        #expect(queue.pendingCount == 0)
    }

    @Test func promotingAllMakesEveryDeferredDeliveryReadyAtOnceInPriorityOrder() {
        var queue = DestinationQueue()
        queue.add(id: 1, priority: .routine, due: now + .seconds(600), now: now)
        queue.add(id: 2, priority: .immediate, due: now + .seconds(900), now: now)
        queue.add(id: 3, priority: .urgent, due: now, now: now)
        queue.promoteAll()
        #expect(queue.waitingCount == 0)
        #expect(queue.nextDue == nil)
        #expect(drain(&queue) == [2, 3, 1])
        #expect(queue.pendingCount == 3)
    }
}
