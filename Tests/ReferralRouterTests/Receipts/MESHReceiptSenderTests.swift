import Curl
import Foundation
import GRDB
import JSONSchema
import Logging
import Testing
import TestSupport
@testable import ReferralRouter

/// Receipts owed to MESH senders, sent from a real store to the test partner standing in for MESH
/// (HTTPS on 127.0.0.1, answering the tracking and outbox paths from a script).
@Suite("MESHReceiptSender")
struct MESHReceiptSenderTests {
    typealias Factory = IntakeRecordFactory

    static let mailbox = "X26OT001"
    static let sender = "X26ABC1"
    static var outbox: String { "/messageexchange/\(mailbox)/outbox" }

    /// Commits one MESH referral whose decision receipt is owed to `sender`; returns it and the receipt's local id.
    private func owedReceipt(_ fixture: StoreFixture) async throws -> (StoredReferral, MESHPendingReceipt) {
        let record = Factory.record(agency: "gp-mesh", referralId: "ref-mesh",
                                    source: .mesh(messageID: "20251125170000000000_ABC123", from: Self.sender, workflowID: "CSC_REFERRAL"))
        let stored = try #require(try await fixture.store.commitIntake([record]).first?.stored)
        try await fixture.store.recordMESHMessage(MESHMessageRecord(
            messageID: "20251125170000000000_ABC123", agency: "gp-mesh", mailbox: Self.mailbox, sender: Self.sender, workflowID: "CSC_REFERRAL",
            outcome: .referral, referralRowID: stored.rowID,
            receipt: MESHReceiptRequest(recipient: Self.sender, workflowID: "CSC_REFERRAL_RECEIPT"), at: Factory.receivedAt))
        let receipt = try #require(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 1).first)
        return (stored, receipt)
    }

    /// A sender for `gp-mesh` talking to `partner` as if it were MESH.
    private func sender(_ fixture: StoreFixture, _ partner: TestPartner, _ pki: TestPKI, client: HTTPClient, maxAttempts: Int = 20) -> MESHReceiptSender {
        let mesh = MESHClient(baseURL: partner.url(path: "/"), mailbox: Self.mailbox, password: Secret("mailbox-password"),
                              sharedKey: Secret("shared-key"), tls: TLSConfiguration(caFile: pki.caCertificate),
                              limits: TransferLimits(connectTimeout: .seconds(5), totalTimeout: .seconds(10)), client: client)
        return MESHReceiptSender(agency: "gp-mesh", client: mesh, store: fixture.store,
                                 logger: Logger(label: "mesh-receipt-test", factory: { _ in SwiftLogNoOpLogHandler() }), maxAttempts: maxAttempts)
    }

    private func receiptRow(_ fixture: StoreFixture, _ id: Int64) throws -> (state: String, attempts: Int, messageID: String?)? {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in
            try Row.fetchOne(db, sql: "SELECT state, attempts, message_id FROM mesh_receipt WHERE id = ?", arguments: [id]).map {
                ($0["state"], $0["attempts"], $0["message_id"])
            }
        }
    }

    private func script(tracking localID: String, _ trackingStep: String, outbox outboxStep: String) -> String {
        #"{"\#(Self.outbox)/tracking/\#(localID)": [\#(trackingStep)], "\#(Self.outbox)": [\#(outboxStep)]}"#
    }

    @Test func anOwedReceiptIsPostedOnceWithItsLocalIdAndTheReceiptJSON() async throws {
        try await withTemporaryStore { fixture in
            let (stored, receipt) = try await owedReceipt(fixture)
            let answer = #"{"status": 202, "body": "{\"message_id\": \"20251125171000000000_RCT001\"}"}"#
            try await RouterTestPKI.withPartner(script: script(tracking: receipt.localID, #"{"status": 404}"#, outbox: answer)) { partner, pki in
                let client = try HTTPClient()
                defer { client.shutdown() }
                let meshSender = sender(fixture, partner, pki, client: client)

                guard case .done(let sent) = await meshSender.sendPending() else {
                    Issue.record("sendPending did not finish")
                    return
                }
                #expect(sent == 1)
                let row = try #require(try receiptRow(fixture, receipt.id))
                #expect(row.state == "sent")
                #expect(row.attempts == 1)
                #expect(row.messageID == "20251125171000000000_RCT001")

                let posts = try partner.received(path: Self.outbox)
                #expect(posts.count == 1)
                let post = try #require(posts.first)
                #expect(post.method == "POST")
                #expect(post.header("mex-localid") == receipt.localID)
                #expect(post.header("mex-to") == Self.sender)
                #expect(post.header("mex-from") == Self.mailbox)
                #expect(post.header("mex-workflowid") == "CSC_REFERRAL_RECEIPT")
                #expect(post.header("mex-filename") == stored.receiptName)
                #expect(post.header("mex-content-checksum") == "sha256:" + Digest.hex(Digest.sha256(post.body)))
                #expect(post.header("authorization")?.hasPrefix("NHSMESH \(Self.mailbox):") == true)
                let body = try JSONDocument(parsing: post.bodyText).root
                #expect(body["referralId"] == "ref-mesh")
                #expect(body["status"] == "ACCEPTED")

                // Nothing is owed any more: the next round posts nothing.
                guard case .done(let again) = await meshSender.sendPending() else {
                    Issue.record("the second sendPending did not finish")
                    return
                }
                #expect(again == 0)
                #expect(try partner.received(path: Self.outbox).count == 1)
            }
        }
    }

    /// A receipt whose answer was lost is found by tracking and never posted a second time.
    @Test func aReceiptMESHAlreadyHoldsIsRecordedAsSentWithoutPostingAgain() async throws {
        try await withTemporaryStore { fixture in
            let (_, receipt) = try await owedReceipt(fixture)
            let tracked = #"{"status": 200, "body": "{\"messageId\": \"20251125170500000000_RCT000\"}"}"#
            try await RouterTestPKI.withPartner(script: script(tracking: receipt.localID, tracked, outbox: #"{"status": 202}"#)) { partner, pki in
                let client = try HTTPClient()
                defer { client.shutdown() }
                guard case .done(let sent) = await sender(fixture, partner, pki, client: client).sendPending() else {
                    Issue.record("sendPending did not finish")
                    return
                }
                #expect(sent == 1)
                #expect(try receiptRow(fixture, receipt.id)?.state == "sent")
                #expect(try receiptRow(fixture, receipt.id)?.messageID == "20251125170500000000_RCT000")
                #expect(try partner.received(path: Self.outbox).isEmpty)
                #expect(try partner.received(path: "\(Self.outbox)/tracking/\(receipt.localID)").count == 1)
            }
        }
    }

    @Test func refusedCredentialsStopTheRoundWithoutCountingAnAttempt() async throws {
        try await withTemporaryStore { fixture in
            let (_, receipt) = try await owedReceipt(fixture)
            try await RouterTestPKI.withPartner(script: script(tracking: receipt.localID, #"{"status": 403}"#, outbox: #"{"status": 202}"#)) { partner, pki in
                let client = try HTTPClient()
                defer { client.shutdown() }
                guard case .forbidden = await sender(fixture, partner, pki, client: client).sendPending() else {
                    Issue.record("a 403 from MESH was not reported as forbidden")
                    return
                }
                #expect(try receiptRow(fixture, receipt.id)?.state == "pending")
                #expect(try receiptRow(fixture, receipt.id)?.attempts == 0)
                #expect(try partner.received(path: Self.outbox).isEmpty)
            }
        }
    }

    @Test func aReceiptRefusedUntilTheLimitIsAbandoned() async throws {
        try await withTemporaryStore { fixture in
            let (_, receipt) = try await owedReceipt(fixture)
            try await RouterTestPKI.withPartner(script: script(tracking: receipt.localID, #"{"status": 404}"#, outbox: #"{"status": 500}"#)) { partner, pki in
                let client = try HTTPClient()
                defer { client.shutdown() }
                let meshSender = sender(fixture, partner, pki, client: client, maxAttempts: 2)
                _ = await meshSender.sendPending()
                #expect(try receiptRow(fixture, receipt.id)?.state == "pending")
                #expect(try receiptRow(fixture, receipt.id)?.attempts == 1)
                _ = await meshSender.sendPending()
                #expect(try receiptRow(fixture, receipt.id)?.state == "failed")
                #expect(try receiptRow(fixture, receipt.id)?.attempts == 2)
                _ = await meshSender.sendPending()
                #expect(try partner.received(path: Self.outbox).count == 2)
            }
        }
    }
}
