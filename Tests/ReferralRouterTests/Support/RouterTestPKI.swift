import Foundation
import Synchronization
import TestSupport

/// One test PKI per test process (read-only once made), removed when the process exits, and a
/// test partner per test in its own temporary directory.
enum RouterTestPKI {
    private static let result: Result<TestPKI, any Error> = Result {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "router-tests-pki")
        directoryPath.withLock { $0 = directory }
        atexit {
            if let directory = RouterTestPKI.directoryPath.withLock({ $0 }) { TestPaths.removeDirectory(directory) }
        }
        return try TestPKI.make(in: directory)
    }
    private static let directoryPath = Mutex<String?>(nil)

    static func shared() throws -> TestPKI {
        try result.get()
    }

    /// Runs `body` with a partner answering from `script`; stops it and removes its directory afterwards.
    static func withPartner<Result>(script: String, serverCertificate: TestPartner.ServerCertificate = .normal,
                                    _ body: (TestPartner, TestPKI) async throws -> Result) async throws -> Result {
        let pki = try shared()
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "router-tests-partner")
        defer { TestPaths.removeDirectory(directory) }
        let partner = try await TestPartner.start(pki: pki, directory: directory, serverCertificate: serverCertificate, script: script)
        defer { partner.stop() }
        return try await body(partner, pki)
    }
}
