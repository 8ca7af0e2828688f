import Curl
import Foundation
import Testing
import TestSupport
@testable import ReferralRouter

/// Delivery through MESH, with the test partner standing in for the MESH API over HTTPS on
/// 127.0.0.1: every post is preceded by tracking, so a lost answer never makes a second message.
@Suite("MESHTransport")
struct MESHTransportTests {
    static let mailbox = "X26OT001"
    static var outbox: String { "/messageexchange/\(mailbox)/outbox" }
    static let localID = Digest.idempotencyKey(referralId: "ref-0001", destination: "health-mesh")
    static var tracking: String { "\(outbox)/tracking/\(localID)" }

    private let delivery = OutboundDelivery(
        id: 1, referralRowID: 1, referralId: "ref-0001", agency: "school-a", destination: "health-mesh", rule: "r3-health",
        payload: Array(#"{"referralId":"ref-0001"}"#.utf8), contentType: "application/fhir+json", idempotencyKey: localID,
        attempts: 0, acceptedAt: Timestamp(millisecondsSinceEpoch: 1_764_090_000_000), priority: .urgent, remoteReference: nil)

    /// Runs `body` with a transport whose MESH is the partner answering `tracking` and `outbox` steps.
    private func withTransport(tracking: String, outbox: String,
                               _ body: (MESHTransport, TestPartner) async throws -> Void) async throws {
        let script = #"{"\#(Self.tracking)": [\#(tracking)], "\#(Self.outbox)": [\#(outbox)]}"#
        try await RouterTestPKI.withPartner(script: script) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let endpoint = MESHEndpoint(baseURL: partner.url(path: "/"), mailbox: Self.mailbox,
                                        password: try #require(SecretReference("credential:mesh-password")),
                                        sharedKey: try #require(SecretReference("credential:mesh-shared-key")),
                                        recipient: "X26HC001", workflowID: "CSC_REFERRAL", tls: TLSSettings(caFile: pki.caCertificate))
            var settings = DeliverySettings()
            settings.connectTimeout = .seconds(5)
            settings.totalTimeout = .seconds(10)
            let transport = MESHTransport(endpoint: endpoint, settings: settings, client: client, secrets: ResolvedSecrets())
            try await body(transport, partner)
        }
    }

    private func posts(_ partner: TestPartner) throws -> [ReceivedRequest] {
        try partner.received(path: Self.outbox)
    }

    @Test func aNewDeliveryIsTrackedThenPostedWithItsLocalIdAndRecordsMESHsMessageId() async throws {
        let accepted = #"{"status": 202, "body": "{\"message_id\": \"20251125171000000000_OUT001\"}"}"#
        try await withTransport(tracking: #"{"status": 404}"#, outbox: accepted) { transport, partner in
            let result = await transport.send(delivery)
            guard case .response(let status, _, _, let reference) = result else {
                Issue.record("no answer: \(result)")
                return
            }
            #expect(status == 202)
            #expect(reference == "20251125171000000000_OUT001")
            #expect(DeliveryOutcome.classify(result, now: .now()) == .delivered(status: 202))
            let post = try #require(try posts(partner).first)
            #expect(try posts(partner).count == 1)
            #expect(post.header("mex-localid") == Self.localID)
            #expect(post.header("mex-to") == "X26HC001")
            #expect(post.header("mex-workflowid") == "CSC_REFERRAL")
            #expect(post.header("mex-content-type") == "application/fhir+json")
            #expect(post.body == delivery.payload)
            #expect(try partner.received(path: Self.tracking).count == 1)
        }
    }

    /// The partner reads the post and resets the connection without answering (MESH may or may not
    /// have stored the message). The retry must ask tracking, which finds it, and post nothing more.
    @Test func aLostAnswerIsFoundByTrackingAndNeverPostedTwice() async throws {
        let found = #"{"status": 200, "body": "{\"messageId\": \"20251125171000000000_OUT001\"}"}"#
        try await withTransport(tracking: #"{"status": 404}, "# + found, outbox: #"{"action": "reset"}"#) { transport, partner in
            let first = await transport.send(delivery)
            guard case .failure = first else {
                Issue.record("a reset connection was not a failure: \(first)")
                return
            }
            #expect(DeliveryOutcome.classify(first, now: .now()).isPartnerFailure)
            // One attempt, one post: the post goes on the connection tracking opened, and a connection
            // that dies before any answer must not be posted to again behind the tracking check.
            let postsOfTheFirstAttempt = try posts(partner).map(\.connection)
            #expect(postsOfTheFirstAttempt.count == 1, "one send() posted on connections \(postsOfTheFirstAttempt)")

            var retry = delivery
            retry.attempts = 1
            let second = await transport.send(retry)
            guard case .response(let status, _, _, let reference) = second else {
                Issue.record("no answer: \(second)")
                return
            }
            #expect(status == 202)
            #expect(reference == "20251125171000000000_OUT001")
            let postCount = try posts(partner).count
            #expect(postCount == postsOfTheFirstAttempt.count, "the retry posted again")
        }
    }

    @Test func whenTrackingCannotTellNothingIsPostedAndTheAttemptIsRetried() async throws {
        for (trackingStatus, expected) in [(500, 500), (418, 503), (502, 502)] {
            try await withTransport(tracking: #"{"status": \#(trackingStatus)}"#, outbox: #"{"status": 202}"#) { transport, partner in
                let result = await transport.send(delivery)
                guard case .response(let status, _, _, _) = result else {
                    Issue.record("no answer: \(result)")
                    return
                }
                #expect(status == expected)
                #expect(DeliveryOutcome.classify(result, now: .now()) == .retry(code: "http_\(expected)", status: expected, retryAfter: nil))
                let postCount = try posts(partner).count
                #expect(postCount == 0)
            }
        }
    }

    /// Wrong credentials are the operator's problem, not the referral's: never a dead letter.
    @Test(arguments: [(403, 404), (404, 403), (401, 404)])
    func refusedCredentialsAreAConfigurationFailureNotADeadLetter(trackingStatus: Int, outboxStatus: Int) async throws {
        try await withTransport(tracking: #"{"status": \#(trackingStatus)}"#, outbox: #"{"status": \#(outboxStatus)}"#) { transport, _ in
            let result = await transport.send(delivery)
            guard case .failure(let failure) = result else {
                Issue.record("\(trackingStatus)/\(outboxStatus) was not a failure: \(result)")
                return
            }
            #expect(failure.kind == .configuration)
            #expect(!failure.message.contains("mesh-password"))
            guard case .retrySlowly = DeliveryOutcome.classify(result, now: .now()) else {
                Issue.record("refused credentials were not retried slowly")
                return
            }
        }
    }

    @Test func aRecipientMESHRefusesIsDeadLetteredWithTheReason() async throws {
        let refused = #"{"status": 417, "body": "{\"errorDescription\": \"Unregistered to address\"}"}"#
        try await withTransport(tracking: #"{"status": 404}"#, outbox: refused) { transport, _ in
            let result = await transport.send(delivery)
            guard case .deadLetter(let code, let status, let reason) = DeliveryOutcome.classify(result, now: .now()) else {
                Issue.record("a 417 from MESH was not dead-lettered: \(result)")
                return
            }
            #expect(code == "http_417")
            #expect(status == 417)
            #expect(reason.contains("Unregistered to address"))
        }
    }
}
