import Curl
import Foundation
import Testing
import TestSupport
@testable import ReferralRouter

/// One HTTPS attempt against the test partner on 127.0.0.1, and how libcurl's failures map onto
/// the transport's kinds (and so onto delivery outcomes).
@Suite("HTTPSTransport")
struct HTTPSTransportTests {
    private let delivery = OutboundDelivery(
        id: 7, referralRowID: 3, referralId: "ref-0001", agency: "school-a", destination: "la-front-door", rule: "r1",
        payload: Array(#"{"referralId":"ref-0001","child":{"nhsNumber":"9434765919"}}"#.utf8), contentType: "application/json",
        idempotencyKey: Digest.idempotencyKey(referralId: "ref-0001", destination: "la-front-door"), attempts: 0,
        acceptedAt: Timestamp(millisecondsSinceEpoch: 1_764_090_000_000), priority: .immediate, remoteReference: nil)

    private func withTransport(script: String, serverCertificate: TestPartner.ServerCertificate = .normal,
                               _ body: (HTTPSTransport, TestPartner, TestPKI) async throws -> Void) async throws {
        try await RouterTestPKI.withPartner(script: script, serverCertificate: serverCertificate) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            var settings = DeliverySettings()
            settings.connectTimeout = .seconds(5)
            settings.totalTimeout = .seconds(10)
            let endpoint = HTTPSEndpoint(url: partner.url(path: "/referrals"), tls: TLSSettings(caFile: pki.caCertificate), bearerToken: nil, proxy: nil)
            try await body(HTTPSTransport(endpoint: endpoint, settings: settings, client: client, secrets: ResolvedSecrets()), partner, pki)
        }
    }

    @Test func anAttemptPostsThePayloadWithItsIdempotencyKeyAndReferralId() async throws {
        try await withTransport(script: #"{"/referrals": [{"status": 201}]}"#) { transport, partner, _ in
            let result = await transport.send(delivery)
            #expect(DeliveryOutcome.classify(result, now: .now()) == .delivered(status: 201))
            let request = try #require(try partner.received(path: "/referrals").first)
            #expect(request.method == "POST")
            #expect(request.body == delivery.payload)
            #expect(request.header("Content-Type") == "application/json")
            #expect(request.header("Idempotency-Key") == delivery.idempotencyKey)
            #expect(request.header("X-Referral-Id") == "ref-0001")
            #expect(request.header("Authorization") == nil)
        }
    }

    @Test func aRefusalKeepsItsRetryAfterAndASanitisedExcerptOfTheBody() async throws {
        let script = #"{"/referrals": [{"status": 503, "headers": {"Retry-After": "7"}, "body": "busy; saw NHS 943 476 5919 from jo@example.org"}]}"#
        try await withTransport(script: script) { transport, _, _ in
            let result = await transport.send(delivery)
            guard case .response(let status, let retryAfter, let excerpt, let reference) = result else {
                Issue.record("no answer: \(result)")
                return
            }
            #expect(status == 503)
            #expect(retryAfter == "7")
            #expect(reference == nil)
            #expect(!excerpt.contains("5919"))
            #expect(!excerpt.contains("example.org"))
            #expect(excerpt.hasPrefix("busy;"))
            #expect(DeliveryOutcome.classify(result, now: .now()) == .retry(code: "http_503", status: 503, retryAfter: .seconds(7)))
        }
    }

    @Test func theCertificatesExpiryIsReadOnTheFirstAttempt() async throws {
        try await withTransport(script: #"{"/referrals": [{"status": 202}]}"#, serverCertificate: .expiring) { transport, _, pki in
            #expect(transport.certificateNotAfter == nil)
            _ = await transport.send(delivery)
            let notAfter = try #require(transport.certificateNotAfter)
            let expected = Int64(pki.expiringServerNotAfter.timeIntervalSince1970 * 1000)
            #expect(abs(notAfter.millisecondsSinceEpoch - expected) <= 1000)
        }
    }

    @Test func anUntrustedCertificateIsAVerificationFailureAndNothingIsSent() async throws {
        try await withTransport(script: #"{"/referrals": [{"status": 202}]}"#, serverCertificate: .wrongCA) { transport, partner, _ in
            let result = await transport.send(delivery)
            guard case .failure(let failure) = result else {
                Issue.record("an untrusted partner answered: \(result)")
                return
            }
            #expect(failure.kind == .tlsVerification)
            let received = try partner.received(path: "/referrals")
            #expect(received.isEmpty)
        }
    }

    /// Exhaustive on purpose: a new libcurl error kind does not compile until it has a transport kind.
    private static func expectedKind(_ kind: CurlError.Kind) -> TransportFailure.Kind {
        switch kind {
        case .resolve: .resolve
        case .connect: .connect
        case .timeout: .timeout
        case .lowSpeed: .lowSpeed
        case .send: .send
        case .receive: .receive
        case .http2: .http2
        case .tlsHandshake: .tlsHandshake
        case .tlsVerification: .tlsVerification
        case .pinMismatch: .pinMismatch
        case .clientCertificate: .clientCertificate
        case .insecureRefused, .unsupportedScheme: .insecureRefused
        case .invalidRequest: .configuration
        case .cancelled, .shutdown: .interrupted
        case .other: .other
        }
    }

    static let curlKinds: [CurlError.Kind] = [
        .unsupportedScheme, .insecureRefused, .invalidRequest, .resolve, .connect, .timeout, .lowSpeed, .tlsHandshake,
        .tlsVerification, .pinMismatch, .clientCertificate, .send, .receive, .http2, .cancelled, .shutdown, .other,
    ]

    @Test(arguments: curlKinds)
    func everyLibcurlFailureMapsToATransportKind(kind: CurlError.Kind) {
        let failure = TransportFailure(CurlError(kind: kind, curlCode: 7, message: "curl said no"))
        #expect(failure.kind == Self.expectedKind(kind))
        #expect(failure.message == "curl said no")
    }

    /// Shutdown stops a transfer; that must never count as an attempt nor dead-letter anything.
    @Test(arguments: [CurlError.Kind.cancelled, .shutdown])
    func aTransferStoppedByShutdownIsNotAnAttempt(kind: CurlError.Kind) {
        let result = TransportResult.failure(TransportFailure(CurlError(kind: kind, message: "stopped")))
        #expect(DeliveryOutcome.classify(result, now: .now()) == .interrupted)
    }
}
