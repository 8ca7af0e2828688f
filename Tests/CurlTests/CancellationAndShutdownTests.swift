import Curl
import Foundation
import Testing
import TestSupport

/// Cancelling a task aborts its transfer promptly; shutting the client down fails everything
/// outstanding with `.shutdown`.
@Suite struct CancellationAndShutdownTests {
    static let hangScript = #"{"/hang": [{"action": "hang", "seconds": 60}]}"#

    @Test func cancellingTheTaskAbortsAHangingTransferPromptly() async throws {
        try await CurlTestFixture.withPartner(script: Self.hangScript) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = CurlTestFixture.trustingTLS(pki)
            let request = HTTPRequest(url: partner.url(path: "/hang"), tls: tls)
            let task = Task { () async throws -> HTTPResponse in try await client.send(request) }
            try await partner.waitForRequests(count: 1, path: "/hang")
            #expect(client.transfersInFlight == 1)

            let (result, elapsed) = await CurlTestFixture.timed {
                task.cancel()
                return await task.result
            }
            // Prompt means well under the 30 s hang; 5 s leaves room for a loaded machine running every suite.
            #expect(elapsed < .seconds(5))
            switch result {
            case .success(let response): Issue.record("a cancelled transfer answered \(response.status)")
            case .failure(let error): #expect((error as? CurlError)?.kind == .cancelled)
            }
            #expect(client.transfersInFlight == 0)

            // The client goes on working after a cancellation.
            let after = try await client.send(HTTPRequest(url: partner.url(path: "/after"), tls: tls))
            #expect(after.status == 202)
        }
    }

    @Test func alreadyCancelledTaskSendsNothing() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let request = HTTPRequest(url: partner.url(path: "/never"), tls: CurlTestFixture.trustingTLS(pki))
            let task = Task { () async throws -> HTTPResponse in
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.send(request)
            }
            let result = await task.result
            guard case .failure(let error) = result else {
                Issue.record("a cancelled task was sent")
                return
            }
            #expect((error as? CurlError)?.kind == .cancelled)
            try await Task.sleep(for: .milliseconds(200))
            #expect(try partner.received().isEmpty)
            #expect(client.transfersInFlight == 0)
        }
    }

    @Test func shutdownFailsOutstandingTransfersAndIsIdempotent() async throws {
        try await CurlTestFixture.withPartner(script: Self.hangScript) { partner, pki in
            let client = try HTTPClient()
            let request = HTTPRequest(url: partner.url(path: "/hang"), tls: CurlTestFixture.trustingTLS(pki))
            let tasks = (0..<3).map { _ in
                Task { () async throws -> HTTPResponse in try await client.send(request) }
            }
            try await partner.waitForRequests(count: 3, path: "/hang")
            #expect(client.transfersInFlight == 3)

            let start = ContinuousClock.now
            client.shutdown()
            client.shutdown()
            for task in tasks {
                switch await task.result {
                case .success(let response): Issue.record("a transfer answered \(response.status) after shutdown")
                case .failure(let error): #expect((error as? CurlError)?.kind == .shutdown)
                }
            }
            #expect(ContinuousClock.now - start < .seconds(5), "shutdown answers at once, not after the 30 s hang")
            #expect(client.transfersInFlight == 0)

            let error = await #expect(throws: CurlError.self) { try await client.send(request) }
            #expect(error?.kind == .shutdown)
            client.shutdown()
            #expect(try partner.received(path: "/hang").count == 3)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func cancellationsRacingCompletionsAllAnswer() async throws {
        // Cancel at random moments: before hand-over, while queued, while running, after the
        // answer. Every caller must get exactly one answer, and nothing may stay counted.
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let request = HTTPRequest(url: partner.url(path: "/race"), tls: CurlTestFixture.trustingTLS(pki))
            var tasks: [Task<HTTPResponse, any Error>] = []
            for _ in 0..<200 {
                let task = Task { try await client.send(request) }
                tasks.append(task)
                let delay = Int.random(in: 0...3)
                Task {
                    if delay > 0 { try? await Task.sleep(for: .milliseconds(delay)) }
                    task.cancel()
                }
            }
            var succeeded = 0
            var cancelled = 0
            for task in tasks {
                switch await task.result {
                case .success(let response):
                    #expect(response.status == 202)
                    succeeded += 1
                case .failure(let error):
                    #expect((error as? CurlError)?.kind == .cancelled, "\(error)")
                    cancelled += 1
                }
            }
            #expect(succeeded + cancelled == 200)
            #expect(client.transfersInFlight == 0)
            // Whatever was cancelled, the client still works.
            #expect(try await client.send(request).status == 202)
        }
    }

    @Test func manyClientsComeAndGo() async throws {
        // Each client owns a thread and curl handles; dropping one must free them and stop its loop.
        try await CurlTestFixture.withPartner { partner, pki in
            for _ in 0..<20 {
                let client = try HTTPClient()
                let response = try await client.send(HTTPRequest(url: partner.url(path: "/churn"), tls: CurlTestFixture.trustingTLS(pki)))
                #expect(response.status == 202)
            }
            #expect(try partner.received(path: "/churn").count == 20)
        }
    }
}
