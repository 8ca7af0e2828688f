import Curl
import Foundation
import Synchronization
import TestSupport

/// Shared parts for the Curl tests: one PKI per test process (read-only once made) and a
/// partner per test, each in its own temporary directory.
enum CurlTestFixture {
    static let pkiResult: Result<TestPKI, any Error> = Result {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "curl-tests-pki")
        pkiDirectory.withLock { $0 = directory }
        // The PKI lives as long as the test process; remove it when the process exits.
        atexit {
            if let directory = CurlTestFixture.pkiDirectory.withLock({ $0 }) {
                TestPaths.removeDirectory(directory)
            }
        }
        return try TestPKI.make(in: directory, expiringInDays: 5)
    }

    private static let pkiDirectory = Mutex<String?>(nil)

    static func pki() throws -> TestPKI {
        try pkiResult.get()
    }

    /// Runs `body` with a fresh partner; stops it and removes its directory afterwards.
    static func withPartner<R>(
        requireClientCertificate: Bool = false,
        serverCertificate: TestPartner.ServerCertificate = .normal,
        script: String? = nil,
        host: String = "127.0.0.1",
        _ body: (TestPartner, TestPKI) async throws -> R
    ) async throws -> R {
        let pki = try pki()
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "curl-tests-partner")
        defer { TestPaths.removeDirectory(directory) }
        let partner = try await TestPartner.start(pki: pki, directory: directory, requireClientCertificate: requireClientCertificate,
                                      serverCertificate: serverCertificate, script: script, host: host)
        defer { partner.stop() }
        return try await body(partner, pki)
    }

    /// TLS that trusts the test CA.
    static func trustingTLS(_ pki: TestPKI) -> TLSConfiguration {
        TLSConfiguration(caFile: pki.caCertificate)
    }

    /// Measures how long `body` takes.
    static func timed<R>(_ body: () async throws -> R) async rethrows -> (R, Duration) {
        let start = ContinuousClock.now
        let result = try await body()
        return (result, ContinuousClock.now - start)
    }

    /// Measures how long a synchronous `body` takes.
    static func timedSync<R>(_ body: () throws -> R) rethrows -> (R, Duration) {
        let start = ContinuousClock.now
        let result = try body()
        return (result, ContinuousClock.now - start)
    }
}
