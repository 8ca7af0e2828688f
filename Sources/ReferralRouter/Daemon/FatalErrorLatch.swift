import ServiceLifecycle
import Synchronization

/// The first error that must stop the daemon (a failed fsync, a corrupt database). Raising it stops
/// intake at once and shuts the group down gracefully; the process then exits non-zero.
final class FatalErrorLatch: Service, Sendable {
    struct Raised: Error, CustomStringConvertible {
        /// The error as it may be logged (see LogSafeError).
        var safeDescription: String
        var description: String { "fatal: \(safeDescription)" }
    }

    private let error = Mutex<(any Error)?>(nil)
    private let wake = WakeSignal()

    var raised: (any Error)? { error.withLock { $0 } }

    func raise(_ error: any Error) {
        let first = self.error.withLock { current -> Bool in
            guard current == nil else { return false }
            current = error
            return true
        }
        if first { wake.signal() }
    }

    /// Waits for a fatal error and throws it, which shuts the group down (see Daemon).
    func run() async throws {
        await withGracefulShutdownHandler {
            while raised == nil, !Task.isShuttingDownGracefully, !Task.isCancelled {
                await wake.wait(timeout: nil)
            }
        } onGracefulShutdown: { [wake] in
            wake.signal()
        }
        if let error = raised { throw Raised(safeDescription: LogSafeError.describe(error)) }
    }
}
