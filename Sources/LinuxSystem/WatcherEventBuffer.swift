import Synchronization

/// The bounded queue between the inotify reader thread and the consumer of `DirectoryWatcher.events`.
///
/// AsyncStream's own buffering drops silently and cannot put a marker where the loss happened, so
/// the queue is ours: at most `limit` events, plus one trailing `.overflow` standing for everything
/// dropped after them. The consumer sees the events that fitted, then `.overflow` (and rescans),
/// then whatever arrives once it has caught up.
final class WatcherEventBuffer: Sendable {
    typealias Event = DirectoryWatcher.Event

    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Event?, Never>
    }

    private struct State {
        var queue: [Event] = []
        var head = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var finished = false
        /// Events offered by the reader, including those dropped (for tests and diagnostics).
        var offered = 0
        var dropped = 0

        var count: Int { queue.count - head }

        mutating func popFirst() -> Event? {
            guard head < queue.count else { return nil }
            let event = queue[head]
            head += 1
            // Compact now and then so the array does not grow with everything ever queued.
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= queue.count {
                queue.removeFirst(head)
                head = 0
            }
            return event
        }
    }

    let limit: Int
    private let state: Mutex<State>

    init(limit: Int) {
        precondition(limit >= 1, "bufferLimit must be at least 1")
        self.limit = limit
        self.state = Mutex(State())
    }

    /// Hands `event` to a waiting consumer or queues it; past the limit it is dropped and a single
    /// `.overflow` marks the gap.
    func push(_ event: Event) {
        let waiter: Waiter? = state.withLock { state in
            if state.finished { return nil }
            state.offered += 1
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            let lastIsOverflow = state.count > 0 && state.queue[state.queue.count - 1] == .overflow
            if event == .overflow {
                // A kernel overflow and ours mean the same thing: one marker is enough.
                if !lastIsOverflow { state.queue.append(.overflow) }
            } else if state.count < limit {
                state.queue.append(event)
            } else {
                state.dropped += 1
                if !lastIsOverflow { state.queue.append(.overflow) }
            }
            return nil
        }
        waiter?.continuation.resume(returning: event)
    }

    /// Ends the stream: queued events are discarded (the files are still in their folders; a
    /// restart rescans them) and every waiting consumer gets nil.
    func finish() {
        let waiters: [Waiter] = state.withLock { state in
            state.finished = true
            state.queue.removeAll()
            state.head = 0
            let waiters = state.waiters
            state.waiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.continuation.resume(returning: nil) }
    }

    /// The next event, waiting for one if none is queued; nil once finished or if the waiting task
    /// is cancelled.
    func next() async -> Event? {
        let id: UInt64 = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Event?, Never>) in
                let immediate: Event?? = state.withLock { state in
                    if let event = state.popFirst() { return .some(event) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .none
                }
                if case .some(let value) = immediate { continuation.resume(returning: value) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(returning: nil)
        }
    }

    /// Events queued now (at most `limit + 1`).
    var bufferedCount: Int { state.withLock { $0.count } }
    /// Events the reader has offered since the start, queued or dropped.
    var offeredCount: Int { state.withLock { $0.offered } }
    /// Events dropped because the consumer was behind.
    var droppedCount: Int { state.withLock { $0.dropped } }
}
