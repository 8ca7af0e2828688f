import Curl
import Foundation
import Testing
import TestSupport

/// Slow, silent and broken partners end in the right error within bounded time.
/// Bounds are generous: the machine is shared and noisy.
@Suite struct TimeoutTests {
    @Test func stallingBodyIsCutByTheLowSpeedLimit() async throws {
        try await CurlTestFixture.withPartner(script: #"{"*": [{"action": "stall", "seconds": 30, "status": 200}]}"#) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            var request = HTTPRequest(url: partner.url(path: "/stall"), tls: CurlTestFixture.trustingTLS(pki))
            request.limits = TransferLimits(totalTimeout: .seconds(20), lowSpeedBytesPerSecond: 64, lowSpeedWindow: .seconds(1))
            let (error, elapsed) = await CurlTestFixture.timed {
                await #expect(throws: CurlError.self) { try await client.send(request) }
            }
            #expect(error?.kind == .lowSpeed, "\(String(describing: error))")
            #expect(error?.curlCode == 28)
            #expect(elapsed >= .milliseconds(900))
            #expect(elapsed < .seconds(8))
            #expect(try partner.received(path: "/stall").first?.action == "stall")
        }
    }

    @Test func silentPartnerEndsInTimeout() async throws {
        try await CurlTestFixture.withPartner(script: #"{"*": [{"action": "hang", "seconds": 30}]}"#) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            var request = HTTPRequest(url: partner.url(path: "/hang"), tls: CurlTestFixture.trustingTLS(pki))
            request.limits = TransferLimits(totalTimeout: .seconds(1), lowSpeedWindow: .seconds(30))
            let (error, elapsed) = await CurlTestFixture.timed {
                await #expect(throws: CurlError.self) { try await client.send(request) }
            }
            #expect(error?.kind == .timeout, "\(String(describing: error))")
            #expect(elapsed >= .milliseconds(900))
            #expect(elapsed < .seconds(6))
        }
    }

    @Test func silentPartnerAlsoTripsTheLowSpeedLimitWhenItIsShorter() async throws {
        try await CurlTestFixture.withPartner(script: #"{"*": [{"action": "hang", "seconds": 30}]}"#) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            var request = HTTPRequest(url: partner.url(path: "/hang"), tls: CurlTestFixture.trustingTLS(pki))
            request.limits = TransferLimits(totalTimeout: .seconds(20), lowSpeedWindow: .seconds(1))
            let (error, elapsed) = await CurlTestFixture.timed {
                await #expect(throws: CurlError.self) { try await client.send(request) }
            }
            #expect(error?.kind == .lowSpeed, "\(String(describing: error))")
            #expect(elapsed < .seconds(8))
        }
    }

    @Test func resetConnectionIsAReceiveOrSendError() async throws {
        try await CurlTestFixture.withPartner(script: #"{"*": [{"action": "reset"}]}"#) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let (error, elapsed) = await CurlTestFixture.timed {
                await #expect(throws: CurlError.self) {
                    try await client.send(HTTPRequest(url: partner.url(path: "/reset"), tls: CurlTestFixture.trustingTLS(pki)))
                }
            }
            #expect(error?.kind == .receive || error?.kind == .send, "\(String(describing: error))")
            #expect(elapsed < .seconds(5))
            #expect(try partner.received(path: "/reset").first?.action == "reset")
        }
    }

    @Test func closedPortIsAConnectError() async throws {
        let pki = try CurlTestFixture.pki()
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "curl-tests-closed")
        defer { TestPaths.removeDirectory(directory) }
        // A port that was just listening and is now closed.
        let partner = try await TestPartner.start(pki: pki, directory: directory)
        let url = partner.url(path: "/closed")
        partner.stop()
        let client = try HTTPClient()
        defer { client.shutdown() }
        let (error, elapsed) = await CurlTestFixture.timed {
            await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: url, tls: CurlTestFixture.trustingTLS(pki)))
            }
        }
        #expect(error?.kind == .connect, "\(String(describing: error))")
        #expect(error?.curlCode == 7)
        #expect(elapsed < .seconds(5))
    }

    @Test func delayedAnswerArrivesWithinLimits() async throws {
        try await CurlTestFixture.withPartner(script: #"{"*": [{"status": 200, "delay": 0.3}]}"#) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let (response, elapsed) = try await CurlTestFixture.timed {
                try await client.send(HTTPRequest(url: partner.url(path: "/slow"), tls: CurlTestFixture.trustingTLS(pki)))
            }
            #expect(response.status == 200)
            #expect(elapsed >= .milliseconds(290))
            #expect(response.totalTime >= .milliseconds(290))
        }
    }
}
