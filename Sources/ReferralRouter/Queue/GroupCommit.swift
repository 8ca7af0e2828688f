/// Group commit: items submitted while a commit is running are committed together in the next one,
/// so many small writers share one fsync. Each submitter resumes only after its item is durable.
actor GroupCommit<Item: Sendable> {
    private var pending: [(item: Item, done: CheckedContinuation<Void, any Error>)] = []
    private var flushing = false
    private let maxBatch: Int
    private let commit: @Sendable ([Item]) async throws -> Void

    init(maxBatch: Int = 1024, commit: @escaping @Sendable ([Item]) async throws -> Void) {
        self.maxBatch = maxBatch
        self.commit = commit
    }

    func submit(_ item: Item) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            pending.append((item, continuation))
            if !flushing {
                flushing = true
                Task { await self.flushLoop() }
            }
        }
    }

    private func flushLoop() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            do {
                try await commit(batch.map(\.item))
                for entry in batch { entry.done.resume() }
            } catch {
                for entry in batch { entry.done.resume(throwing: error) }
            }
        }
        flushing = false
    }
}
