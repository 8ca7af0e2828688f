import Curl
import Foundation
import Testing
import TestSupport

/// The peer is verified unless a test asks otherwise for a loopback host, and nothing is sent
/// to a peer that fails verification.
@Suite struct VerificationTests {
    @Test func certificateFromAnotherCAIsRefusedAndNothingIsSent() async throws {
        try await CurlTestFixture.withPartner(serverCertificate: .wrongCA) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: partner.url(path: "/referrals"), body: Array("secret".utf8),
                                                  tls: CurlTestFixture.trustingTLS(pki)))
            }
            #expect(error?.kind == .tlsVerification)
            #expect(error?.curlCode == 60)
            #expect(try partner.received().isEmpty)
        }
    }

    @Test func systemStoreDoesNotTrustTheTestCA() async throws {
        try await CurlTestFixture.withPartner { partner, _ in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: partner.url(path: "/referrals")))
            }
            #expect(error?.kind == .tlsVerification)
            #expect(try partner.received().isEmpty)
        }
    }

    @Test func pinMismatchIsRefusedAndNothingIsSent() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(
                    url: partner.url(path: "/referrals"), body: Array("secret".utf8),
                    tls: TLSConfiguration(caFile: pki.caCertificate, pinnedPublicKeys: [pki.wrongCAServerPin])))
            }
            #expect(error?.kind == .pinMismatch)
            #expect(try partner.received().isEmpty)
        }
    }

    @Test func matchingPinIsAccepted() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            // One of several pins is enough (key rotation).
            let response = try await client.send(HTTPRequest(
                url: partner.url(path: "/pinned"),
                tls: TLSConfiguration(caFile: pki.caCertificate, pinnedPublicKeys: [pki.wrongCAServerPin, pki.serverPin])))
            #expect(response.status == 202)
            #expect(try partner.received(path: "/pinned").count == 1)
        }
    }

    @Test func skipForLoopbackOnlyWorksOnLoopback() async throws {
        try await CurlTestFixture.withPartner(serverCertificate: .wrongCA) { partner, _ in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = TLSConfiguration(verification: .skipForLoopbackOnly)
            let direct = try await client.send(HTTPRequest(url: partner.url(path: "/insecure"), tls: tls))
            #expect(direct.status == 202)
            let named = try await client.send(HTTPRequest(url: "https://localhost:\(partner.port)/insecure", tls: tls))
            #expect(named.status == 202)
            #expect(try partner.received(path: "/insecure").count == 2)
        }
    }

    @Test(arguments: [
        "https://example.invalid/",
        "https://127.0.0.1@example.invalid/",
        "https://127.0.0.1:443@example.invalid/",
        "https://127.0.0.1.example.invalid/",
        "https://localhost.example.invalid/",
        "https://localhost./",
        "https://[::2]/",
        "https://10.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
    ])
    func skipForLoopbackOnlyIsRefusedForOtherHosts(url: String) async throws {
        let client = try HTTPClient()
        defer { client.shutdown() }
        let (error, elapsed) = await CurlTestFixture.timed {
            await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: url, tls: TLSConfiguration(verification: .skipForLoopbackOnly)))
            }
        }
        #expect(error?.kind == .insecureRefused)
        #expect(error?.curlCode == 0)
        // Refused before any name lookup or connection: no network wait at all.
        #expect(elapsed < .milliseconds(500))
        #expect(client.connectionsOpened == 0)
    }

    @Test func skipForLoopbackOnlyIsRefusedThroughAProxy() async throws {
        let client = try HTTPClient()
        defer { client.shutdown() }
        let error = await #expect(throws: CurlError.self) {
            try await client.send(HTTPRequest(url: "https://127.0.0.1:9/", tls: TLSConfiguration(verification: .skipForLoopbackOnly),
                                              proxy: "http://127.0.0.1:9"))
        }
        #expect(error?.kind == .insecureRefused)
    }

    @Test(arguments: ["http://127.0.0.1:9/", "ftp://127.0.0.1/x", "127.0.0.1/x", "HTTP://127.0.0.1/", "gopher://127.0.0.1/"])
    func onlyHTTPSIsAllowed(url: String) async throws {
        let client = try HTTPClient()
        defer { client.shutdown() }
        let error = await #expect(throws: CurlError.self) { try await client.send(HTTPRequest(url: url)) }
        #expect(error?.kind == .unsupportedScheme)
    }

    @Test func proxyEnvironmentIsIgnored() async throws {
        // A proxy named by the environment would make this fail (nothing listens on port 9);
        // the request must go straight to the partner.
        setenv("https_proxy", "http://127.0.0.1:9", 1)
        setenv("HTTPS_PROXY", "http://127.0.0.1:9", 1)
        setenv("all_proxy", "http://127.0.0.1:9", 1)
        defer {
            unsetenv("https_proxy")
            unsetenv("HTTPS_PROXY")
            unsetenv("all_proxy")
        }
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let response = try await client.send(HTTPRequest(url: partner.url(path: "/direct"), tls: CurlTestFixture.trustingTLS(pki)))
            #expect(response.status == 202)
        }
    }
}
