import Curl
import Foundation
@testable import ReferralRouter
import Testing
import TestSupport

/// Issue 6, MESH part: a health partner reached through NHS MESH, against mesh-sandbox on 127.0.0.1
/// (AUTH_MODE=full, so every request's HMAC is checked; mutual TLS required).
@Suite(.serialized, .enabled("needs python3 with mesh-sandbox and mesh-client (scripts/test installs them)") { await MESHSandbox.unavailableReason == nil })
struct MESHDestinationTests {
    /// The router sends as X26ABC1; the health partner's mailbox is X26ABC2.
    static let sender = "X26ABC1"
    static let recipient = "X26ABC2"

    /// A sandbox whose health destination is MESH and whose other four partners are HTTPS.
    static func configure(_ sandbox: RouterSandbox, mesh: MESHSandbox, partners: Partners, wrongSharedKey: Bool = false,
                          delivery: String = "", extra: String = "") throws {
        let secrets = try mesh.writeSecrets(into: sandbox.root, wrongSharedKey: wrongSharedKey)
        let https = Partners.destinations.filter { $0 != "health-safeguarding" }
        let types = ["la-front-door": "local-authority", "police-ppu": "police", "school-dsl": "school", "early-help-hub": "early-help"]
        try sandbox.writeConfiguration(
            destinations: https.map { ($0, types[$0] ?? "", "json", partners.urls[$0] ?? "") }, delivery: delivery,
            extra: mesh.destinationTOML(id: "health-safeguarding", partnerType: "health", format: "fhir", mailbox: sender,
                                        recipient: recipient, secrets: secrets) + extra)
    }

    @Test func aHealthReferralReachesTheRecipientsMESHInboxWithItsMessageIdRecorded() async throws {
        let sandbox = try RouterSandbox(prefix: "mesh-send")
        defer { sandbox.remove() }
        let mesh = try await MESHSandbox.start(pki: sandbox.pki, directory: sandbox.root)
        defer { mesh.stop() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try Self.configure(sandbox, mesh: mesh, partners: partners)
        let router = try await sandbox.startRouter()

        let id = UUID().uuidString.lowercased()
        // R1 + R2 + R3: the front door, the police and health (over MESH).
        try dropFile(try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json", referralId: id), named: "r.json",
                     into: sandbox.inbound("riverside-medical"))
        #expect(await waitUntil(timeout: .seconds(30)) { (try? await mesh.inbox(Self.recipient).count) == 1 }, "one message in the recipient's inbox")
        let messageID = try #require(try await mesh.inbox(Self.recipient).first)
        let message = try await mesh.message(messageID, in: Self.recipient)
        #expect(message.headers["mex-from"] == Self.sender)
        #expect(message.headers["mex-workflowid"] == "TEST_WORKFLOW")
        let localID = try #require(message.headers["mex-localid"])
        #expect(localID.hasPrefix("rr1-"), "the local id is the delivery's idempotency key, not personal data")
        #expect(message.headers["mex-content-checksum"] == "sha256:" + sha256Hex(message.body))
        let bundle = try #require(try JSONSerialization.jsonObject(with: Data(message.body)) as? [String: Any])
        #expect(bundle["resourceType"] as? String == "Bundle", "health receives its FHIR payload")
        #expect(!message.text.contains("\"upn\""), "health never receives the UPN")

        // Delivered, with MESH's message id kept as the delivery's remote reference.
        #expect(await waitUntil {
            let destinations = readJSONObject(sandbox.receipts("riverside-medical") + "/\(id).json")?["destinations"] as? [[String: Any]]
            return destinations?.first { $0["destination"] as? String == "health-safeguarding" }?["status"] as? String == "delivered"
        })
        let rows = try MESHSandbox.query(database: sandbox.stateDirectory + "/router.sqlite",
                                         "SELECT remote_reference, idempotency_key FROM delivery WHERE destination = 'health-safeguarding'")
        #expect(rows == [[messageID, localID]])
        #expect(await router.stop() == 0)
        #expect(!router.log.contains("Tomasz") && !router.log.contains(Self.childFamilyName(id: id)), "no child's name in the log")
    }

    @Test func wrongCredentialsAre403AndRetriedSlowlyWithAnAlertNeverDeadLettered() async throws {
        let sandbox = try RouterSandbox(prefix: "mesh-403")
        defer { sandbox.remove() }
        let mesh = try await MESHSandbox.start(pki: sandbox.pki, directory: sandbox.root)
        defer { mesh.stop() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        // Even with a fast retry policy, an authentication failure waits tls_failure_retry_seconds.
        try Self.configure(sandbox, mesh: mesh, partners: partners, wrongSharedKey: true, delivery: "tls_failure_retry_seconds = 600")
        let router = try await sandbox.startRouter()

        let id = UUID().uuidString.lowercased()
        try dropFile(try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json", referralId: id), named: "r.json",
                     into: sandbox.inbound("riverside-medical"))
        #expect(await waitUntil(timeout: .seconds(30)) { router.log.contains("MESH refused the mailbox's credentials") })
        try await Task.sleep(for: .seconds(3))
        let rows = try MESHSandbox.query(database: sandbox.stateDirectory + "/router.sqlite",
                                         "SELECT state, attempts, last_status FROM delivery WHERE destination = 'health-safeguarding'")
        #expect(rows == [["pending", "1", ""]], "one attempt in 3 s, still pending: not hammered, not dead-lettered")
        #expect(router.log.contains("event=alert") && router.log.contains("code=configuration"))
        #expect(try await mesh.inbox(Self.recipient).isEmpty)
        // The other partners are not held up by health's credentials.
        #expect(try partners.referralIds(at: "la-front-door") == [id])
        #expect(!router.log.contains(mesh.sharedKey), "secrets never reach the log")
        #expect(await router.stop() == 0)
    }

    @Test func aRetryAfterALostAnswerFindsTheFirstMessageInsteadOfPostingASecond() async throws {
        let sandbox = try RouterSandbox(prefix: "mesh-retry")
        defer { sandbox.remove() }
        let mesh = try await MESHSandbox.start(pki: sandbox.pki, directory: sandbox.root)
        defer { mesh.stop() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try Self.configure(sandbox, mesh: mesh, partners: partners)
        let configuration = try RouterConfiguration.load(directory: sandbox.configDirectory)
        let secrets = try ResolvedSecrets.resolve(configuration, environment: [:])
        let destination = try #require(configuration.destination("health-safeguarding"))
        guard case .mesh(let endpoint) = destination.transport else {
            Issue.record("health-safeguarding is not a MESH destination")
            return
        }
        let client = try HTTPClient()
        defer { client.shutdown() }
        let transport = MESHTransport(endpoint: endpoint, settings: destination.delivery, client: client, secrets: secrets)
        var delivery = OutboundDelivery(id: 1, referralRowID: 1, referralId: UUID().uuidString.lowercased(), agency: "riverside-medical",
                                        destination: destination.id, rule: "R3", payload: Array(#"{"resourceType":"Bundle"}"#.utf8),
                                        contentType: "application/fhir+json", idempotencyKey: "rr1-" + UUID().uuidString.lowercased(),
                                        attempts: 0, acceptedAt: .now(), priority: .urgent, remoteReference: nil)

        // The first post reaches MESH; suppose its answer was lost (a timeout) and the attempt recorded.
        guard case .response(202, _, _, let first?) = await transport.send(delivery) else {
            Issue.record("the first post was not accepted")
            return
        }
        delivery.attempts = 1
        let retry = await transport.send(delivery)
        guard case .response(let status, _, let excerpt, let reference) = retry else {
            Issue.record("the retry failed: \(retry)")
            return
        }
        #expect(status == 202 && excerpt == "already in MESH" && reference == first, "tracking by local id found the first message")
        // A crash between the post and recording it leaves attempts at 0: MESH is still asked first.
        delivery.attempts = 0
        guard case .response(202, _, _, let again) = await transport.send(delivery) else {
            Issue.record("the repeat after a crash failed")
            return
        }
        #expect(again == first)
        #expect(try await mesh.inbox(Self.recipient) == [first], "exactly one message in the recipient's inbox")
        #expect(DeliveryOutcome.classify(retry, now: .now()) == .delivered(status: 202))
    }

    @Test func aForbiddenAnswerFromMESHIsAConfigurationFailureNotADeadLetter() {
        let failure = MESHTransport.authenticationFailure(status: 403)
        let outcome = DeliveryOutcome.classify(.failure(failure), now: .now())
        guard case .retrySlowly(let code, _, let alert) = outcome else {
            Issue.record("expected a slow retry, got \(outcome)")
            return
        }
        #expect(code == "configuration")
        #expect(alert.contains("credentials"))
    }

    static func childFamilyName(id: String) -> String {
        let bytes = (try? RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json", referralId: id)) ?? []
        let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
        return ((object?["child"] as? [String: Any])?["familyName"] as? String) ?? "no-family-name"
    }
}

/// Lower-case hex SHA-256, for checking `mex-content-checksum`.
func sha256Hex(_ bytes: [UInt8]) -> String {
    Digest.hex(Digest.sha256(bytes))
}
