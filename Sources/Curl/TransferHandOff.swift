import CCurl
import Synchronization

/// What callers' tasks and the loop thread share: new requests, cancellations and the shutdown
/// flag, behind one mutex. Callers never block here for more than a few list operations, and
/// the loop thread never holds the lock across curl work.
final class TransferHandOff: Sendable {
    /// A request handed to the loop thread.
    struct Submission: Sendable {
        var id: UInt64
        var request: HTTPRequest
        var continuation: CheckedContinuation<Result<HTTPResponse, CurlError>, Never>
    }

    /// What the loop thread takes in one go.
    struct Work: Sendable {
        var submissions: [Submission]
        var cancellations: [UInt64]
        var shutdownRequested: Bool
    }

    /// Where a request id is in its life; an id leaves the table when its transfer is finished.
    private enum Entry {
        /// `send` has taken an id but not yet handed the request over.
        case allocated
        /// Cancelled before it was handed over: the hand-over answers `.cancelled` at once.
        case cancelledBeforeSubmission
        /// Queued for, or running on, the loop thread.
        case submitted
    }

    private struct State {
        var nextID: UInt64 = 1
        var entries: [UInt64: Entry] = [:]
        var queue: [Submission] = []
        var cancellations: [UInt64] = []
        var submittedCount = 0
        var connectionsOpened = 0
        var shutdownRequested = false
        /// Set by the loop thread, under the lock, before it frees the multi handle.
        var loopFinished = false
    }

    private let state = Mutex(State())
    private let wakeup: MultiWakeup

    init(wakeup: MultiWakeup) {
        self.wakeup = wakeup
    }

    // MARK: Callers' side

    func allocateID() -> UInt64 {
        state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.entries[id] = .allocated
            return id
        }
    }

    /// Queues the request for the loop thread, or answers at once when it was cancelled
    /// already or the client is shut down.
    func submit(_ submission: Submission) {
        let refusal: CurlError? = state.withLock { state in
            switch state.entries[submission.id] {
            case .cancelledBeforeSubmission:
                state.entries[submission.id] = nil
                return CurlError(kind: .cancelled, message: "the task was cancelled")
            case .allocated where state.shutdownRequested:
                state.entries[submission.id] = nil
                return CurlError(kind: .shutdown, message: "the HTTP client is shut down")
            case .allocated:
                state.entries[submission.id] = .submitted
                state.submittedCount += 1
                state.queue.append(submission)
                wakeLoop(state)
                return nil
            case .submitted, nil:
                preconditionFailure("request \(submission.id) handed over twice or never allocated")
            }
        }
        if let refusal {
            submission.continuation.resume(returning: .failure(refusal))
        }
    }

    /// Asks the loop thread to abort the transfer `id`; a no-op once it has finished.
    func cancel(_ id: UInt64) {
        state.withLock { state in
            switch state.entries[id] {
            case .allocated:
                state.entries[id] = .cancelledBeforeSubmission
            case .submitted:
                state.cancellations.append(id)
                wakeLoop(state)
            case .cancelledBeforeSubmission, nil:
                break
            }
        }
    }

    func requestShutdown() {
        state.withLock { state in
            guard !state.shutdownRequested else { return }
            state.shutdownRequested = true
            wakeLoop(state)
        }
    }

    var transfersInFlight: Int {
        state.withLock { $0.submittedCount }
    }

    var connectionsOpened: Int {
        state.withLock { $0.connectionsOpened }
    }

    /// curl_multi_wakeup is safe from any thread; holding the lock while `loopFinished` is false
    /// guarantees the multi handle has not been freed yet.
    private func wakeLoop(_ state: borrowing State) {
        if !state.loopFinished {
            wakeup.wake()
        }
    }

    // MARK: Loop thread's side

    /// Takes everything queued since the last call.
    func takeWork() -> Work {
        state.withLock { state in
            defer {
                state.queue.removeAll(keepingCapacity: true)
                state.cancellations.removeAll(keepingCapacity: true)
            }
            return Work(submissions: state.queue, cancellations: state.cancellations,
                        shutdownRequested: state.shutdownRequested)
        }
    }

    /// Forgets finished transfers; call before resuming their callers so that
    /// `transfersInFlight` never counts a transfer whose caller has its answer.
    func finish(_ ids: [UInt64], connectionsOpened: Int) {
        guard !ids.isEmpty || connectionsOpened > 0 else { return }
        state.withLock { state in
            for id in ids where state.entries.removeValue(forKey: id) != nil {
                state.submittedCount -= 1
            }
            state.connectionsOpened += connectionsOpened
        }
    }

    /// Marks the loop finished (no more wake-ups) and returns anything still queued.
    func finishLoop() -> [Submission] {
        state.withLock { state in
            state.loopFinished = true
            state.shutdownRequested = true
            let leftovers = state.queue
            state.queue.removeAll()
            state.cancellations.removeAll()
            for submission in leftovers where state.entries.removeValue(forKey: submission.id) != nil {
                state.submittedCount -= 1
            }
            return leftovers
        }
    }
}

/// The multi handle, shared only so other threads can call curl_multi_wakeup on it.
///
/// `@unchecked Sendable` invariant: the pointer is used for nothing but curl_multi_wakeup
/// (documented thread-safe), and only under the hand-off lock while `loopFinished` is false;
/// the loop thread sets `loopFinished` under that lock before curl_multi_cleanup.
struct MultiWakeup: @unchecked Sendable {
    let multi: UnsafeMutableRawPointer

    func wake() {
        _ = curl_multi_wakeup(multi)
    }
}
