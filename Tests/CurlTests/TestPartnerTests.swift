import Curl
import Foundation
import Testing
import TestSupport

/// The shared test partner (scripts/test-partner.py) behaves as documented: every other test
/// suite relies on it.
@Suite struct TestPartnerTests {
    @Test func scriptStepsAreConsumedPerPathAndTheLastRepeats() async throws {
        let script = #"{"/a": [{"status": 503}, {"status": 200}], "*": [{"status": 201}]}"#
        try await CurlTestFixture.withPartner(script: script) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            func status(_ path: String) async throws -> Int {
                try await client.send(HTTPRequest(url: partner.url(path: path), tls: CurlTestFixture.trustingTLS(pki))).status
            }
            #expect(try await status("/a") == 503)
            #expect(try await status("/b") == 201)
            #expect(try await status("/a") == 200)
            #expect(try await status("/a") == 200)
            #expect(try partner.received(path: "/a").map(\.status) == [503, 200, 200])

            // A new script takes effect on the next request, with fresh counters.
            try partner.setScript(#"{"/a": [{"status": 429}, {"status": 204}]}"#)
            #expect(try await status("/a") == 429)
            #expect(try await status("/a") == 204)
            #expect(try await status("/b") == 202)
        }
    }

    @Test func controlEndpointsAnswer() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = CurlTestFixture.trustingTLS(pki)
            let health = try await client.send(HTTPRequest(method: .get, url: partner.url(path: "/_control/health"), tls: tls))
            #expect(health.status == 200)

            _ = try await client.send(HTTPRequest(url: partner.url(path: "/x"), body: Array("one".utf8), tls: tls))
            _ = try await client.send(HTTPRequest(url: partner.url(path: "/y"), body: Array("two".utf8), tls: tls))
            let listed = try await client.send(HTTPRequest(method: .get, url: partner.url(path: "/_control/requests?path=/x"), tls: tls))
            let records = try #require(try JSONSerialization.jsonObject(with: Data(listed.body)) as? [[String: Any]])
            #expect(records.count == 1)
            #expect(records.first?["body"] as? String == "one")
            let all = try await client.send(HTTPRequest(method: .get, url: partner.url(path: "/_control/requests"), tls: tls))
            #expect((try JSONSerialization.jsonObject(with: Data(all.body)) as? [Any])?.count == 2)

            let refused = try await client.send(HTTPRequest(method: .put, url: partner.url(path: "/_control/script"),
                                                            body: Array(#"{"/x": "not a list"}"#.utf8), tls: tls))
            #expect(refused.status == 400)
            let accepted = try await client.send(HTTPRequest(method: .put, url: partner.url(path: "/_control/script"),
                                                             body: Array(#"{"/x": [{"status": 418}]}"#.utf8), tls: tls))
            #expect(accepted.status == 200)
            #expect(try await client.send(HTTPRequest(url: partner.url(path: "/x"), tls: tls)).status == 418)
            // Control requests are not recorded.
            #expect(try partner.received().map(\.path) == ["/x", "/y", "/x"])
        }
    }

    @Test func recordsArePrivateAndOrdered() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let before = Date().timeIntervalSince1970
            for path in ["/p/q", "/p/q", "/r"] {
                _ = try await client.send(HTTPRequest(url: partner.url(path: path), tls: CurlTestFixture.trustingTLS(pki)))
            }
            let received = try partner.received()
            #expect(received.map(\.seq) == [1, 2, 3])
            #expect(received.allSatisfy { $0.receivedAt >= before - 1 && $0.receivedAt <= Date().timeIntervalSince1970 + 1 })
            let manager = FileManager.default
            let directory = partner.recordDirectory + "/p_q"
            #expect(try manager.contentsOfDirectory(atPath: directory).sorted() == ["000001.json", "000002.json"])
            let directoryMode = try manager.attributesOfItem(atPath: directory)[.posixPermissions] as? Int
            let fileMode = try manager.attributesOfItem(atPath: directory + "/000001.json")[.posixPermissions] as? Int
            #expect(directoryMode == 0o700)
            #expect(fileMode == 0o600)
        }
    }

    @Test func announceNamesTheReferralAndNothingElse() async throws {
        let pki = try CurlTestFixture.pki()
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "curl-tests-announce")
        defer { TestPaths.removeDirectory(directory) }
        let partner = try await TestPartner.start(pki: pki, directory: directory, name: "la-front-door", announce: true)
        defer { partner.stop() }
        let client = try HTTPClient()
        defer { client.shutdown() }
        let tls = CurlTestFixture.trustingTLS(pki)
        let top = #"{"referralId": "3f2a-0001", "child": {"name": "Jane Example"}}"#
        let nested = #"{"referral": {"referralId": "3f2a-0002", "dob": "2015-01-01"}}"#
        let none = #"{"note": "Jane Example"}"#
        for body in [top, nested, none] {
            _ = try await client.send(HTTPRequest(url: partner.url(path: "/referrals"), body: Array(body.utf8), tls: tls))
        }
        partner.stop()
        let output = partner.output().split(separator: "\n").map(String.init)
        // Standard error (the start-up line) shares the log file; announce lines go to standard output.
        #expect(output.first?.hasPrefix("test-partner la-front-door: listening on 127.0.0.1 port ") == true)
        let lines = output.filter { $0.hasPrefix("partner ") }
        #expect(lines == [
            "partner la-front-door: received referral 3f2a-0001 (POST /referrals, \(top.utf8.count) bytes, status 202)",
            "partner la-front-door: received referral 3f2a-0002 (POST /referrals, \(nested.utf8.count) bytes, status 202)",
            "partner la-front-door: received request (POST /referrals, \(none.utf8.count) bytes, status 202)",
        ])
        #expect(!partner.output().contains("Jane"))
        #expect(!partner.output().contains("2015"))
    }

    @Test func stopsPromptlyOnSIGTERM() async throws {
        try await CurlTestFixture.withPartner(script: #"{"*": [{"action": "hang", "seconds": 60}]}"#) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let request = HTTPRequest(url: partner.url(path: "/hang"), tls: CurlTestFixture.trustingTLS(pki))
            let task = Task { try await client.send(request) }
            try await partner.waitForRequests(count: 1)
            let (_, elapsed) = CurlTestFixture.timedSync { partner.stop() }
            // Without SIGKILL (which comes after 5 s), even with a request hanging.
            #expect(elapsed < .seconds(3))
            let result = await task.result
            #expect(throws: CurlError.self) { try result.get() }
        }
    }
}
