import Synchronization

/// A wait in a test that did not end in time.
struct DeadlineExceeded: Error, CustomStringConvertible {
    var seconds: Double
    var description: String { "did not finish within \(seconds) s" }
}

/// Runs `body` in its own task and returns its result, or throws `DeadlineExceeded` after `seconds`
/// even if `body` never returns (a lost wake-up must fail the test, not hang the run).
func withinDeadline<Value: Sendable>(seconds: Double = 5, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let outcome = OutcomeSlot<Value>()
    return try await withCheckedThrowingContinuation { continuation in
        outcome.install(continuation)
        let work = Task { () async -> Void in
            do {
                outcome.resolve(.success(try await body()))
            } catch {
                outcome.resolve(.failure(error))
            }
        }
        Task {
            try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            if outcome.resolve(.failure(DeadlineExceeded(seconds: seconds))) { work.cancel() }
        }
    }
}

/// The one continuation `withinDeadline` resumes, whichever of the work and the timer comes first.
private final class OutcomeSlot<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, any Error>?>(nil)

    func install(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    /// Resumes the waiter with the first result only; returns whether this call did it.
    @discardableResult
    func resolve(_ result: Result<Value, any Error>) -> Bool {
        guard let waiter = continuation.withLock({ slot in
            let taken = slot
            slot = nil
            return taken
        }) else { return false }
        waiter.resume(with: result)
        return true
    }
}
