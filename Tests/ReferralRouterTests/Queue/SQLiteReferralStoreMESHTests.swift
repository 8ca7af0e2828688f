import Foundation
import GRDB
import Testing
@testable import ReferralRouter

@Suite("SQLiteReferralStore: MESH messages, reports and receipts")
struct SQLiteReferralStoreMESHTests {
    typealias Factory = IntakeRecordFactory

    static let messageID = "20251125170000000000_ABC123"
    static let sender = "X26ABC1"
    static let receiptRequest = MESHReceiptRequest(recipient: sender, workflowID: "CSC_REFERRAL_RECEIPT")

    private func meshRecord(messageID: String = messageID, referralId: String = "ref-mesh", document: [UInt8]? = nil,
                            receipt: ReceiptCode = .accepted, destinations: [String] = ["la-front-door"]) -> IntakeRecord {
        Factory.record(agency: "gp-mesh", referralId: referralId, document: document, receipt: receipt, destinations: destinations,
                       source: .mesh(messageID: messageID, from: Self.sender, workflowID: "CSC_REFERRAL"))
    }

    private func messageRecord(_ outcome: MESHMessageOutcome, messageID: String = messageID, rowID: Int64?,
                               receipt: MESHReceiptRequest? = receiptRequest) -> MESHMessageRecord {
        MESHMessageRecord(messageID: messageID, agency: "gp-mesh", mailbox: "X26OT001", sender: Self.sender, workflowID: "CSC_REFERRAL",
                          outcome: outcome, referralRowID: rowID, receipt: receipt, at: Factory.receivedAt.adding(.seconds(1)))
    }

    private func report(messageID: String = "20251125180000000000_REP001", linked: String? = nil, localID: String? = nil,
                        success: Bool = false, statusCode: String? = "14") -> MESHReport {
        MESHReport(messageID: messageID, agency: "gp-mesh", mailbox: "X26OT001", linkedMessageID: linked, localID: localID,
                   workflowID: "CSC_REFERRAL", statusCode: statusCode, statusEvent: success ? "TRANSFER" : "TRANSFER",
                   success: success, description: success ? "Transferred to recipient mailbox" : "Message not collected by recipient after 5 days",
                   at: Factory.receivedAt.adding(.seconds(3600)))
    }

    private func scalar<Value: DatabaseValueConvertible>(_ fixture: StoreFixture, _ sql: String,
                                                         _ arguments: StatementArguments = StatementArguments()) throws -> Value? {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in try Value.fetchOne(db, sql: sql, arguments: arguments) }
    }

    private func commitMESHReferral(_ fixture: StoreFixture, destinations: [String] = ["la-front-door"]) async throws -> StoredReferral {
        let stored = try #require(try await fixture.store.commitIntake([meshRecord(destinations: destinations)]).first?.stored)
        try await fixture.store.recordMESHMessage(messageRecord(.referral, rowID: stored.rowID))
        return stored
    }

    // MARK: - Messages

    @Test func aNewMessageIsUnknownAndACommittedOneIsKnownByItsReferral() async throws {
        try await withTemporaryStore { fixture in
            #expect(try await fixture.store.meshKnownMessage(messageID: Self.messageID) == nil)
            let stored = try #require(try await fixture.store.commitIntake([meshRecord()]).first?.stored)
            // Known by the referral alone: a crash between the commit and recording the message is covered.
            #expect(try await fixture.store.meshKnownMessage(messageID: Self.messageID) == .referral(rowID: stored.rowID, referralId: "ref-mesh"))
            try await fixture.store.recordMESHMessage(messageRecord(.referral, rowID: stored.rowID))
            #expect(try await fixture.store.meshKnownMessage(messageID: Self.messageID) == .referral(rowID: stored.rowID, referralId: "ref-mesh"))
        }
    }

    @Test func anUnacceptedWorkflowIsRecordedAlertedAndAcknowledgedOnce() async throws {
        try await withTemporaryStore { fixture in
            try await fixture.store.recordMESHMessage(messageRecord(.unacceptedWorkflow, rowID: nil, receipt: nil))
            #expect(try await fixture.store.meshKnownMessage(messageID: Self.messageID) == .recorded(outcome: .unacceptedWorkflow, acknowledged: false))
            #expect(try scalar(fixture, "SELECT COUNT(*) FROM audit WHERE event = 'alert' AND outcome = 'mesh-unaccepted-workflow'") == 1)

            let first = Factory.receivedAt.adding(.seconds(10))
            try await fixture.store.markMESHAcknowledged(messageID: Self.messageID, at: first)
            try await fixture.store.markMESHAcknowledged(messageID: Self.messageID, at: first.adding(.seconds(50)))
            #expect(try await fixture.store.meshKnownMessage(messageID: Self.messageID) == .recorded(outcome: .unacceptedWorkflow, acknowledged: true))
            #expect(try scalar(fixture, "SELECT acknowledged_at FROM mesh_message WHERE message_id = ?", [Self.messageID]) == first.millisecondsSinceEpoch)
            #expect(try await fixture.store.verifyAudit().isIntact)
        }
    }

    @Test func recordingAMessageAgainCountsItAndQueuesItsReceiptOnlyOnce() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commitMESHReferral(fixture)
            try await fixture.store.recordMESHMessage(messageRecord(.referral, rowID: stored.rowID))
            #expect(try scalar(fixture, "SELECT seen_again FROM mesh_message WHERE message_id = ?", [Self.messageID]) == 1)
            let pending = try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 10)
            #expect(pending.count == 1)
            #expect(pending.first?.stage == "decision")
            #expect(pending.first?.recipient == Self.sender)
            #expect(pending.first?.workflowID == "CSC_REFERRAL_RECEIPT")
            #expect(pending.first?.referralRowID == stored.rowID)
            #expect(pending.first?.localID.hasPrefix("rr1-receipt-decision-") == true)
            #expect(try await fixture.store.pendingMESHReceipts(agency: "another-agency", limit: 10).isEmpty)
        }
    }

    @Test func aRedownloadedMessageBecomesARecordedDuplicateNotASecondReferral() async throws {
        try await withTemporaryStore { fixture in
            let stored = try #require(try await fixture.store.commitIntake([meshRecord()]).first?.stored)
            // The crash came before the message was recorded or acknowledged; it is downloaded again.
            let original = try await fixture.store.recordMESHRedownload(messageID: Self.messageID, agency: "gp-mesh",
                                                                         receiptWorkflowID: "CSC_REFERRAL_RECEIPT",
                                                                         at: Factory.receivedAt.adding(.seconds(30)))
            #expect(original == "ref-mesh")
            #expect(try scalar(fixture, "SELECT COUNT(*) FROM referral") == 1)
            #expect(try scalar(fixture, "SELECT COUNT(*) FROM duplicate WHERE source_name = ?", [Self.messageID]) == 1)
            #expect(try scalar(fixture, "SELECT referral FROM mesh_message WHERE message_id = ?", [Self.messageID]) == stored.rowID)
            #expect(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 10).count == 1)
            #expect(try scalar(fixture, "SELECT event FROM audit ORDER BY seq DESC LIMIT 1") == "duplicate")

            // And again: still one receipt.
            _ = try await fixture.store.recordMESHRedownload(messageID: Self.messageID, agency: "gp-mesh",
                                                             receiptWorkflowID: "CSC_REFERRAL_RECEIPT", at: Factory.receivedAt.adding(.seconds(60)))
            #expect(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 10).count == 1)
            #expect(try await fixture.store.recordMESHRedownload(messageID: "never-seen", agency: "gp-mesh", receiptWorkflowID: nil,
                                                                 at: Factory.receivedAt) == nil)
            #expect(try await fixture.store.verifyAudit().isIntact)
        }
    }

    /// MESH message ids are unique: the database refuses a second referral from one message. That
    /// refusal must not take the rest of the batch with it.
    @Test func aSecondReferralFromTheSameMessageIsRefusedWithoutSinkingTheBatch() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([meshRecord()])
            let again = meshRecord(referralId: "ref-mesh-2", document: Factory.document(referralId: "ref-mesh-2"))
            let other = Factory.record(referralId: "ref-folder")
            do {
                let results = try await fixture.store.commitIntake([again, other])
                #expect(results[1].stored?.receipt == .accepted)
                #expect(results[0].stored?.receipt == .rejected || results[0].duplicateOf != nil)
            } catch {
                Issue.record("one refused MESH record failed the whole batch: \(error)")
            }
            #expect(try scalar(fixture, "SELECT COUNT(*) FROM referral WHERE source_kind = 'mesh' AND receipt_code != 'REJECTED'") == 1)
        }
    }

    // MARK: - Reports

    @Test func aNonDeliveryReportMatchedByMESHMessageIdFailsTheDelivery() async throws {
        try await withTemporaryStore { fixture in
            let stored = try #require(try await fixture.store.commitIntake([Factory.record()]).first?.stored)
            let delivery = stored.deliveries[0]
            try await fixture.store.recordRemoteReference(deliveryID: delivery.id, reference: "20251125170500000000_OUT001")
            try await fixture.store.recordAttempts([
                DeliveryAttemptRecord(deliveryID: delivery.id, referralRowID: stored.rowID, referralId: "ref-0001", agency: "school-a",
                                      destination: "la-front-door", attempt: 1, result: .delivered(status: 202, remoteReference: nil),
                                      code: "delivered", at: Factory.receivedAt.adding(.seconds(5))),
            ])

            let match = try await fixture.store.applyMESHReport(report(linked: "20251125170500000000_OUT001"))
            #expect(match == .deliveryFailed(referralRowID: stored.rowID, referralId: "ref-0001", destination: "la-front-door"))
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: stored.rowID))
            #expect(snapshot.destinations.first?.state == "dead")
            #expect(snapshot.destinations.first?.lastError?.contains("status 14") == true)
            #expect(try scalar(fixture, "SELECT event FROM audit ORDER BY seq DESC LIMIT 1") == "dead-lettered")
            #expect(try scalar(fixture, "SELECT report_match FROM mesh_message WHERE message_type = 'REPORT'") == "delivery-failed")
            #expect(try await fixture.store.status().dead == 1)
        }
    }

    @Test func aReportIsMatchedByOurLocalIdWhenMESHGaveNoMessageId() async throws {
        try await withTemporaryStore { fixture in
            let record = Factory.record()
            let stored = try #require(try await fixture.store.commitIntake([record]).first?.stored)
            let match = try await fixture.store.applyMESHReport(report(localID: record.decision.deliveries[0].idempotencyKey))
            #expect(match == .deliveryFailed(referralRowID: stored.rowID, referralId: "ref-0001", destination: "la-front-door"))
            #expect(try await fixture.store.loadDelivery(id: stored.deliveries[0].id) == nil)
        }
    }

    @Test func aSuccessReportConfirmsWithoutChangingTheDelivery() async throws {
        try await withTemporaryStore { fixture in
            let record = Factory.record()
            let stored = try #require(try await fixture.store.commitIntake([record]).first?.stored)
            let match = try await fixture.store.applyMESHReport(report(localID: record.decision.deliveries[0].idempotencyKey, success: true,
                                                                       statusCode: "00"))
            #expect(match == .deliveryConfirmed(referralId: "ref-0001", destination: "la-front-door"))
            #expect(try await fixture.store.pendingDeliveries().map(\.id) == [stored.deliveries[0].id])
        }
    }

    @Test func aReportAboutOurReceiptMarksTheReceiptFailed() async throws {
        try await withTemporaryStore { fixture in
            _ = try await commitMESHReferral(fixture)
            let receipt = try #require(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 1).first)
            let match = try await fixture.store.applyMESHReport(report(localID: receipt.localID))
            #expect(match == .receipt(referralId: "ref-mesh", failed: true))
            #expect(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 10).isEmpty)
            #expect(try scalar(fixture, "SELECT state FROM mesh_receipt WHERE id = ?", [receipt.id]) == "failed")
        }
    }

    @Test func anUnmatchedReportIsRecordedWithAnAlertAndASecondCopyIsIgnored() async throws {
        try await withTemporaryStore { fixture in
            let stored = try #require(try await fixture.store.commitIntake([Factory.record()]).first?.stored)
            #expect(try await fixture.store.applyMESHReport(report(linked: "20250101000000000000_NOPE00")) == .unmatched)
            #expect(try scalar(fixture, "SELECT outcome FROM audit ORDER BY seq DESC LIMIT 1") == "mesh-report-unmatched")
            let events: Int? = try scalar(fixture, "SELECT COUNT(*) FROM audit")

            // The same report again (after a crash before its acknowledgement): nothing changes.
            #expect(try await fixture.store.applyMESHReport(report(linked: "20250101000000000000_NOPE00")) == .alreadyRecorded)
            #expect(try scalar(fixture, "SELECT COUNT(*) FROM audit") == events)
            #expect(try await fixture.store.pendingDeliveries().map(\.id) == stored.deliveries.map(\.id))
            #expect(try scalar(fixture, "SELECT COUNT(*) FROM mesh_message WHERE message_type = 'REPORT'") == 1)
        }
    }

    @Test func aReportWithoutAnyReferenceMatchesNothing() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([Factory.record()])
            #expect(try await fixture.store.applyMESHReport(report(linked: nil, localID: nil)) == .unmatched)
            #expect(try await fixture.store.pendingDeliveries().count == 1)
        }
    }

    // MARK: - Receipts to MESH senders

    @Test func theFinalReceiptIsQueuedOnceWhenEveryDeliveryIsDone() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commitMESHReferral(fixture, destinations: ["la-front-door", "health-mash"])
            let at = Factory.receivedAt.adding(.seconds(100))
            #expect(try await fixture.store.queueFinalMESHReceipts(agency: "gp-mesh", at: at) == 0)

            func finish(_ index: Int, _ result: DeliveryAttemptRecord.Result) async throws {
                try await fixture.store.recordAttempts([
                    DeliveryAttemptRecord(deliveryID: stored.deliveries[index].id, referralRowID: stored.rowID, referralId: "ref-mesh",
                                          agency: "gp-mesh", destination: stored.deliveries[index].destination, attempt: 1, result: result,
                                          code: result.typicalCode, at: at),
                ])
            }
            try await finish(0, .delivered(status: 202, remoteReference: nil))
            #expect(try await fixture.store.queueFinalMESHReceipts(agency: "gp-mesh", at: at) == 0)
            try await finish(1, .deadLettered(reason: "Partner refused the referral with HTTP 400", status: 400))
            #expect(try await fixture.store.queueFinalMESHReceipts(agency: "gp-mesh", at: at) == 1)
            #expect(try await fixture.store.queueFinalMESHReceipts(agency: "gp-mesh", at: at) == 0)

            let pending = try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 10)
            #expect(pending.map(\.stage) == ["decision", "final"])
            let decisionKey = try #require(pending.first?.localID.dropFirst("rr1-receipt-decision-".count))
            #expect(pending.last?.localID == "rr1-receipt-final-" + decisionKey)
            #expect(Set(pending.map(\.localID)).count == 2)
        }
    }

    @Test func aReferralWithoutDeliveriesGetsNoFinalReceipt() async throws {
        try await withTemporaryStore { fixture in
            let stored = try #require(try await fixture.store.commitIntake([meshRecord(receipt: .rejected)]).first?.stored)
            try await fixture.store.recordMESHMessage(messageRecord(.referral, rowID: stored.rowID))
            #expect(try await fixture.store.queueFinalMESHReceipts(agency: "gp-mesh", at: Factory.receivedAt) == 0)
            #expect(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 10).map(\.stage) == ["decision"])
        }
    }

    @Test func receiptAttemptsMoveOnlyFromPending() async throws {
        try await withTemporaryStore { fixture in
            _ = try await commitMESHReferral(fixture)
            let receipt = try #require(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 1).first)
            let at = Factory.receivedAt.adding(.seconds(9))

            try await fixture.store.recordMESHReceiptAttempt(id: receipt.id, result: .retry(code: "http_503"), at: at)
            #expect(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 1).first?.attempts == 1)
            try await fixture.store.recordMESHReceiptAttempt(id: receipt.id, result: .sent(messageID: "20251125170900000000_RCT001"), at: at)
            #expect(try await fixture.store.pendingMESHReceipts(agency: "gp-mesh", limit: 1).isEmpty)
            #expect(try scalar(fixture, "SELECT state FROM mesh_receipt WHERE id = ?", [receipt.id]) == "sent")
            #expect(try scalar(fixture, "SELECT attempts FROM mesh_receipt WHERE id = ?", [receipt.id]) == 2)

            // A late failure does not undo a sent receipt.
            try await fixture.store.recordMESHReceiptAttempt(id: receipt.id, result: .failed(code: "http_400"), at: at)
            #expect(try scalar(fixture, "SELECT state FROM mesh_receipt WHERE id = ?", [receipt.id]) == "sent")
            #expect(try scalar(fixture, "SELECT message_id FROM mesh_receipt WHERE id = ?", [receipt.id]) == "20251125170900000000_RCT001")
        }
    }
}
