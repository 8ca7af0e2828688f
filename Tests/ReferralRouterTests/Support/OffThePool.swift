import Foundation

/// Runs `body` on a thread of its own and waits for it without holding a cooperative thread: for
/// blocking test chores (stopping a child process, making a PKI) while other tests' timers run.
func offThePool(_ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        Thread {
            body()
            continuation.resume()
        }.start()
    }
}
