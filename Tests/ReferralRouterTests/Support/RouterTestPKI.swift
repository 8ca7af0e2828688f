import Foundation
import Synchronization
import TestSupport

/// One test PKI per test process (read-only once made), removed when the process exits, and a
/// test partner per test in its own temporary directory.
///
/// Making the PKI runs openssl several times and waits for it; that happens on a thread of its own,
/// never on the cooperative pool, so tests waiting for it do not stall every other test's timers.
enum RouterTestPKI {
    private enum State {
        case idle
        case making([CheckedContinuation<TestPKI, any Error>])
        case made(Result<TestPKI, any Error>)
    }
    private static let state = Mutex(State.idle)
    private static let directoryPath = Mutex<String?>(nil)

    static func shared() async throws -> TestPKI {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<TestPKI, any Error>) in
            let (startMaking, ready) = state.withLock { state -> (Bool, Result<TestPKI, any Error>?) in
                switch state {
                case .idle:
                    state = .making([continuation])
                    return (true, nil)
                case .making(let waiting):
                    state = .making(waiting + [continuation])
                    return (false, nil)
                case .made(let result):
                    return (false, result)
                }
            }
            if let ready { continuation.resume(with: ready) }
            if startMaking {
                Thread {
                    let result = Result { try make() }
                    let waiting = state.withLock { state -> [CheckedContinuation<TestPKI, any Error>] in
                        defer { state = .made(result) }
                        if case .making(let waiting) = state { return waiting }
                        return []
                    }
                    for waiter in waiting { waiter.resume(with: result) }
                }.start()
            }
        }
    }

    private static func make() throws -> TestPKI {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "router-tests-pki")
        directoryPath.withLock { $0 = directory }
        atexit {
            if let directory = RouterTestPKI.directoryPath.withLock({ $0 }) { TestPaths.removeDirectory(directory) }
        }
        return try TestPKI.make(in: directory)
    }

    /// Runs `body` with a partner answering from `script`; stops it and removes its directory afterwards.
    static func withPartner<Result>(script: String, serverCertificate: TestPartner.ServerCertificate = .normal,
                                    _ body: (TestPartner, TestPKI) async throws -> Result) async throws -> Result {
        let pki = try await shared()
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "router-tests-partner")
        defer { TestPaths.removeDirectory(directory) }
        let partner = try await TestPartner.start(pki: pki, directory: directory, serverCertificate: serverCertificate, script: script)
        // Stopping waits for the child to exit: done off the cooperative pool.
        do {
            let result = try await body(partner, pki)
            await offThePool { partner.stop() }
            return result
        } catch {
            await offThePool { partner.stop() }
            throw error
        }
    }
}
