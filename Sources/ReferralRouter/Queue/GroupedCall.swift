/// Coalesces calls to the store: inputs submitted while a call is running go together into the next
/// one, so many small callers share one transaction (one fsync for writes, one reader hop for loads).
/// Each caller resumes with its own output once the call that carried its input has returned.
actor GroupedCall<Input: Sendable, Output: Sendable> {
    private var pending: [(input: Input, done: CheckedContinuation<Output, any Error>)] = []
    private var running = false
    private let maxBatch: Int
    /// Returns one output per input, in the inputs' order.
    private let perform: @Sendable ([Input]) async throws -> [Output]

    init(maxBatch: Int = 1024, perform: @escaping @Sendable ([Input]) async throws -> [Output]) {
        self.maxBatch = max(maxBatch, 1)
        self.perform = perform
    }

    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Output, any Error>) in
            pending.append((input, continuation))
            if !running {
                running = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            do {
                let outputs = try await perform(batch.map(\.input))
                guard outputs.count == batch.count else { throw GroupedCallMismatch(inputs: batch.count, outputs: outputs.count) }
                for (entry, output) in zip(batch, outputs) { entry.done.resume(returning: output) }
            } catch {
                for entry in batch { entry.done.resume(throwing: error) }
            }
        }
        running = false
    }
}

/// A grouped call returned a different number of outputs than it was given inputs (a programming error).
struct GroupedCallMismatch: Error, CustomStringConvertible {
    var inputs: Int
    var outputs: Int
    var description: String { "a grouped call returned \(outputs) results for \(inputs) inputs" }
}

/// Group commit: many writers share one durable transaction; each resumes only after its item is durable.
typealias GroupCommit<Item: Sendable> = GroupedCall<Item, Void>

extension GroupedCall where Output == Void {
    init(maxBatch: Int = 1024, commit: @escaping @Sendable ([Input]) async throws -> Void) {
        self.init(maxBatch: maxBatch) { inputs in
            try await commit(inputs)
            return Array(repeating: (), count: inputs.count)
        }
    }
}
