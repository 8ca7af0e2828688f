import Synchronization
import Testing
@testable import ReferralRouter

@Suite("GroupCommit")
struct GroupCommitTests {
    struct PoisonedBatch: Error {}

    /// Stands in for the durable write: records every batch, and holds the first one until released,
    /// so the test controls exactly when later submitters pile up behind a running commit.
    final class CommitRecorder: Sendable {
        let batches = Mutex<[[Int]]>([])
        let durable = Mutex<Set<Int>>([])
        private let firstEntered: AsyncStream<Void>.Continuation
        let entered: AsyncStream<Void>
        private let gateContinuation: AsyncStream<Void>.Continuation
        private let gate: AsyncStream<Void>
        let poison: Int?

        init(poison: Int? = nil) {
            (entered, firstEntered) = AsyncStream.makeStream()
            (gate, gateContinuation) = AsyncStream.makeStream()
            self.poison = poison
        }

        func commit(_ items: [Int]) async throws {
            let isFirst = batches.withLock { batches in
                batches.append(items)
                return batches.count == 1
            }
            if isFirst {
                firstEntered.yield()
                for await _ in gate { break }
            }
            if let poison, items.contains(poison) { throw PoisonedBatch() }
            durable.withLock { $0.formUnion(items) }
        }

        func release() { gateContinuation.finish() }
    }

    final class SubmitCounter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Submits `0` and waits until its commit is running (and held), then submits `1..<count`
    /// concurrently, releases the commit, and returns whether each submitter saw its item durable (or threw).
    private func run(_ group: GroupCommit<Int>, _ recorder: CommitRecorder, count: Int) async throws -> [Int: Result<Bool, PoisonedBatch>] {
        try await withinDeadline(seconds: 10) {
            let started = SubmitCounter()
            let submitter: @Sendable (Int) -> @Sendable () async -> (Int, Result<Bool, PoisonedBatch>) = { item in
                {
                    started.value.add(1, ordering: .relaxed)
                    do {
                        try await group.submit(item)
                        // Resumed: the item must already be durable.
                        return (item, .success(recorder.durable.withLock { $0.contains(item) }))
                    } catch {
                        return (item, .failure(PoisonedBatch()))
                    }
                }
            }
            return await withTaskGroup(of: (Int, Result<Bool, PoisonedBatch>).self) { tasks in
                tasks.addTask(operation: submitter(0))
                for await _ in recorder.entered { break }
                for item in 1..<count { tasks.addTask(operation: submitter(item)) }
                // Let every submitter reach the actor before the held commit ends (bounded: 2 s at most).
                for _ in 0..<200 where started.value.load(ordering: .relaxed) < count {
                    try? await Task.sleep(for: .milliseconds(10))
                }
                try? await Task.sleep(for: .milliseconds(50))
                recorder.release()
                var results: [Int: Result<Bool, PoisonedBatch>] = [:]
                for await (item, result) in tasks { results[item] = result }
                return results
            }
        }
    }

    @Test func manyConcurrentSubmittersShareFewerCommitsThanItems() async throws {
        let recorder = CommitRecorder()
        let group = GroupCommit<Int> { try await recorder.commit($0) }
        let results = try await run(group, recorder, count: 200)

        let batches = recorder.batches.withLock { $0 }
        #expect(batches.count >= 2)
        #expect(batches.count <= 20, "200 submitters needed \(batches.count) commits")
        #expect(batches.first == [0])
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<200))
        #expect(results.count == 200)
    }

    @Test func everySubmitterResumesOnlyAfterItsItemIsCommitted() async throws {
        let recorder = CommitRecorder()
        let group = GroupCommit<Int> { try await recorder.commit($0) }
        let results = try await run(group, recorder, count: 64)
        #expect(results.count == 64)
        #expect(results.values.allSatisfy { (try? $0.get()) == true })
    }

    @Test func aBatchNeverExceedsTheMaximum() async throws {
        let recorder = CommitRecorder()
        let group = GroupCommit<Int>(maxBatch: 7) { try await recorder.commit($0) }
        let results = try await run(group, recorder, count: 50)
        let batches = recorder.batches.withLock { $0 }
        #expect(batches.allSatisfy { $0.count <= 7 })
        #expect(batches.count >= 8)   // 1 held + 49 others in batches of at most 7
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<50))
        #expect(results.values.allSatisfy { (try? $0.get()) == true })
    }

    @Test func aFailedCommitIsReportedToEverySubmitterOfThatBatchOnly() async throws {
        let recorder = CommitRecorder(poison: 13)
        let group = GroupCommit<Int> { try await recorder.commit($0) }
        let results = try await run(group, recorder, count: 30)

        let batches = recorder.batches.withLock { $0 }
        let poisoned = try #require(batches.first { $0.contains(13) })
        #expect(poisoned.count > 1, "the failing batch held only the poisoned item; nothing shows the error reaching others")
        for batch in batches {
            for item in batch {
                let failed = (try? results[item]?.get()) == nil
                #expect(failed == batch.contains(13), "item \(item)")
            }
        }
        #expect(results[0].map { (try? $0.get()) == true } == true)

        // The group is not stuck after a failure.
        try await withinDeadline { try await group.submit(1000) }
        #expect(recorder.durable.withLock { $0.contains(1000) })
    }
}
