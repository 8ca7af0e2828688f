import Curl
import Foundation
import Testing
import TestSupport

/// The leaf certificate's notAfter is reported when asked for, also on a host whose
/// connection is already open.
@Suite struct CertificateExpiryTests {
    @Test func peerCertificateExpiryIsReported() async throws {
        try await CurlTestFixture.withPartner(serverCertificate: .expiring) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = CurlTestFixture.trustingTLS(pki)
            let plain = try await client.send(HTTPRequest(url: partner.url(path: "/a"), tls: tls))
            #expect(plain.peerCertificateNotAfter == nil)

            let response = try await client.send(HTTPRequest(url: partner.url(path: "/a"), tls: tls, collectPeerCertificateExpiry: true))
            let notAfter = try #require(response.peerCertificateNotAfter)
            #expect(abs(notAfter.timeIntervalSince(pki.expiringServerNotAfter)) < 86_400)
            let days = notAfter.timeIntervalSinceNow / 86_400
            #expect(days > Double(pki.expiringInDays) - 1 && days < Double(pki.expiringInDays) + 1)

            // Asked again: still there (a fresh handshake each time it is asked for).
            let again = try await client.send(HTTPRequest(url: partner.url(path: "/a"), tls: tls, collectPeerCertificateExpiry: true))
            #expect(again.peerCertificateNotAfter == response.peerCertificateNotAfter)
        }
    }
}
