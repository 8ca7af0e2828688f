import Synchronization

/// Wakes one waiting loop: a signal sent while nobody waits is remembered (once), so no wake-up is
/// lost between "checked for work" and "started waiting". Waits end early on task cancellation.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
        var generation: UInt64 = 0
    }
    private let state = Mutex(State())

    init() {}

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after a signal, after `timeout` (nil: no timeout), or on cancellation.
    func wait(timeout: Duration?) async {
        let generation = state.withLock { state -> UInt64? in
            if state.pending {
                state.pending = false
                return nil
            }
            state.generation &+= 1
            return state.generation
        }
        guard let generation else { return }
        let timer: Task<Void, Never>? = timeout.map { timeout in
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.fire(generation: generation)
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || state.generation != generation || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            fire(generation: generation)
        }
        timer?.cancel()
    }

    /// Ends the wait that started at `generation`, if it is still the current one.
    private func fire(generation: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.generation == generation, let waiter = state.waiter else { return nil }
            state.waiter = nil
            state.generation &+= 1
            return waiter
        }
        waiter?.resume()
    }
}
