import Curl
import Foundation
import Testing
import TestSupport

/// A partner that requires a client certificate gets ours, and nothing without it.
@Suite struct MutualTLSTests {
    @Test func withoutClientCertificateTheRequestFails() async throws {
        try await CurlTestFixture.withPartner(requireClientCertificate: true) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: partner.url(path: "/mtls"), tls: CurlTestFixture.trustingTLS(pki)))
            }
            // The server refuses during its half of the handshake; which of our steps sees it
            // first (reading its alert, or finding the socket already closed) is a race.
            let expected: Set<CurlError.Kind> = [.clientCertificate, .tlsHandshake, .send, .receive]
            #expect(error.map { expected.contains($0.kind) } ?? false, "\(String(describing: error))")
            #expect(try partner.received().isEmpty)
        }
    }

    @Test func clientCertificateIsPresentedAndRecorded() async throws {
        try await CurlTestFixture.withPartner(requireClientCertificate: true) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = TLSConfiguration(caFile: pki.caCertificate, clientCertificateFile: pki.clientCertificate,
                                       clientKeyFile: pki.clientKey)
            let response = try await client.send(HTTPRequest(url: partner.url(path: "/mtls"), tls: tls))
            #expect(response.status == 202)
            let only = try #require(try partner.received(path: "/mtls").first)
            #expect(only.clientCertSubject == pki.clientCertificateSubject)
        }
    }

    @Test func encryptedClientKeyWorksWithItsPassphrase() async throws {
        try await CurlTestFixture.withPartner(requireClientCertificate: true) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = TLSConfiguration(caFile: pki.caCertificate, clientCertificateFile: pki.clientCertificate,
                                       clientKeyFile: pki.clientKeyEncrypted, clientKeyPassphrase: Secret(pki.clientKeyPassphrase))
            let response = try await client.send(HTTPRequest(url: partner.url(path: "/mtls"), tls: tls))
            #expect(response.status == 202)
            let only = try #require(try partner.received(path: "/mtls").first)
            #expect(only.clientCertSubject == pki.clientCertificateSubject)
        }
    }

    @Test func wrongPassphraseIsAClientCertificateError() async throws {
        try await CurlTestFixture.withPartner(requireClientCertificate: true) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let passphrase = "not-the-passphrase-\(UInt32.random(in: 0 ... .max))"
            let tls = TLSConfiguration(caFile: pki.caCertificate, clientCertificateFile: pki.clientCertificate,
                                       clientKeyFile: pki.clientKeyEncrypted, clientKeyPassphrase: Secret(passphrase))
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: partner.url(path: "/mtls"), tls: tls))
            }
            #expect(error?.kind == .clientCertificate)
            #expect(error.map { !$0.description.contains(passphrase) && !$0.message.contains(passphrase) } ?? false)
            #expect(try partner.received().isEmpty)
        }
    }

    @Test func missingClientCertificateFileIsAClientCertificateError() async throws {
        try await CurlTestFixture.withPartner(requireClientCertificate: true) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = TLSConfiguration(caFile: pki.caCertificate, clientCertificateFile: pki.directory + "/absent.pem",
                                       clientKeyFile: pki.clientKey)
            let error = await #expect(throws: CurlError.self) {
                try await client.send(HTTPRequest(url: partner.url(path: "/mtls"), tls: tls))
            }
            #expect(error?.kind == .clientCertificate)
        }
    }
}
