import Synchronization

/// Wakes one waiting loop. A signal sent while nobody waits is remembered (once), so no wake-up is
/// lost between "checked for work" and "started waiting"; a timeout or cancellation that lands
/// before the waiter is installed is remembered the same way, so a wait always ends.
final class WakeSignal: Sendable {
    private struct State {
        /// A signal nobody has consumed yet.
        var pending = false
        /// The wait in progress (one loop waits at a time), and whether it has already expired.
        var currentWait: UInt64?
        var currentExpired = false
        var waiter: CheckedContinuation<Void, Never>?
        var nextWait: UInt64 = 0
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
        let id = state.withLock { state -> UInt64? in
            if state.pending {
                state.pending = false
                return nil
            }
            state.nextWait &+= 1
            state.currentWait = state.nextWait
            state.currentExpired = false
            return state.nextWait
        }
        guard let id else { return }
        let timer: Task<Void, Never>? = timeout.map { timeout in
            Task { [weak self] in
                try? await Task.sleep(for: timeout)
                self?.expire(id)
            }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || state.currentExpired {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            expire(id)
        }
        state.withLock { state in
            if state.currentWait == id {
                state.currentWait = nil
                state.currentExpired = false
            }
        }
        timer?.cancel()
    }

    /// Ends wait `id` if it is still in progress: now if its waiter is installed, else as soon as it is.
    private func expire(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.currentWait == id else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.currentExpired = true
            return nil
        }
        waiter?.resume()
    }
}
