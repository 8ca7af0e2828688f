import Foundation
import GRDB
import JSONSchema

/// The MESH mailbox intake's records (tables of `MESHStoreMigration`).
extension SQLiteReferralStore {
    public func meshKnownMessage(messageID: String) async throws(StoreError) -> MESHKnownMessage? {
        try await read { db in
            if let row = try Row.fetchOne(db, sql: """
                SELECT id, referral_id FROM referral WHERE source_kind = 'mesh' AND source_name = ? LIMIT 1
                """, arguments: [messageID]) {
                return .referral(rowID: row["id"], referralId: row["referral_id"])
            }
            guard let row = try Row.fetchOne(db, sql: "SELECT outcome, acknowledged_at FROM mesh_message WHERE message_id = ?",
                                             arguments: [messageID]) else { return nil }
            let outcome = MESHMessageOutcome(rawValue: row["outcome"]) ?? .report
            return .recorded(outcome: outcome, acknowledged: (row["acknowledged_at"] as Int64?) != nil)
        }
    }

    public func recordMESHMessage(_ record: MESHMessageRecord) async throws(StoreError) {
        let chain = self.chain
        try await write { db in
            try db.execute(sql: """
                INSERT INTO mesh_message (message_id, agency, mailbox, sender, workflow_id, message_type, outcome, referral, recorded_at)
                VALUES (?, ?, ?, ?, ?, 'DATA', ?, ?, ?)
                ON CONFLICT (message_id) DO UPDATE SET outcome = excluded.outcome, referral = COALESCE(excluded.referral, referral),
                                                       seen_again = seen_again + 1
                """, arguments: [record.messageID, record.agency, record.mailbox, record.sender, record.workflowID,
                                 record.outcome.rawValue, record.referralRowID, record.at.millisecondsSinceEpoch])
            if let rowID = record.referralRowID, let receipt = record.receipt {
                try Self.queueDecisionReceipt(referralRowID: rowID, agency: record.agency, receipt: receipt, at: record.at, db: db)
            }
            // A message left on an unaccepted workflow and taken after a reload changes its outcome above.
            if record.outcome == .unacceptedWorkflow {
                try Self.appendAudit([AuditEvent(kind: .alert, at: record.at, agency: record.agency, outcome: "mesh-unaccepted-workflow",
                                                 detail: ["messageId": .string(record.messageID), "workflowId": .string(record.workflowID),
                                                          "from": .string(record.sender)])], chain: chain, db: db)
            }
        }
    }

    public func recordMESHRedownload(messageID: String, agency: String, receiptWorkflowID: String?,
                                     at: Timestamp) async throws(StoreError) -> String? {
        let chain = self.chain
        return try await write { db -> String? in
            guard let original = try Row.fetchOne(db, sql: """
                SELECT id, referral_id, agency, content_sha256, source_detail FROM referral
                WHERE source_kind = 'mesh' AND source_name = ? LIMIT 1
                """, arguments: [messageID]) else { return nil }
            let rowID: Int64 = original["id"]
            let referralId: String = original["referral_id"]
            let hash: Data = original["content_sha256"]
            try db.execute(sql: """
                INSERT INTO duplicate (agency, source_name, content_sha256, original, detected_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [agency, messageID, hash, rowID, at.millisecondsSinceEpoch])
            let detail = try? JSONDocument(parsing: (original["source_detail"] as String?) ?? "{}").root
            let sender = detail?["from"]?.stringValue ?? ""
            try db.execute(sql: """
                INSERT INTO mesh_message (message_id, agency, mailbox, sender, workflow_id, message_type, outcome, referral, recorded_at, seen_again)
                VALUES (?, ?, '', ?, ?, 'DATA', 'referral', ?, ?, 1)
                ON CONFLICT (message_id) DO UPDATE SET seen_again = seen_again + 1
                """, arguments: [messageID, agency, sender, detail?["workflowId"]?.stringValue ?? "", rowID, at.millisecondsSinceEpoch])
            if let receiptWorkflowID, !sender.isEmpty {
                try Self.queueDecisionReceipt(referralRowID: rowID, agency: agency,
                                              receipt: MESHReceiptRequest(recipient: sender, workflowID: receiptWorkflowID), at: at, db: db)
            }
            try Self.appendAudit([AuditEvent(kind: .duplicate, at: at, referralId: referralId, agency: agency, outcome: "duplicate-mesh-message",
                                             detail: ["messageId": .string(messageID), "sha256": .string(Digest.hex(hash))],
                                             referralRow: rowID)],
                                 chain: chain, db: db)
            return referralId
        }
    }

    public func markMESHAcknowledged(messageID: String, at: Timestamp) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE mesh_message SET acknowledged_at = COALESCE(acknowledged_at, ?) WHERE message_id = ?",
                           arguments: [at.millisecondsSinceEpoch, messageID])
        }
    }

    public func applyMESHReport(_ report: MESHReport) async throws(StoreError) -> MESHReportMatch {
        let chain = self.chain
        return try await write { db -> MESHReportMatch in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM mesh_message WHERE message_id = ?)", arguments: [report.messageID]) == true {
                return .alreadyRecorded
            }
            var match = MESHReportMatch.unmatched
            var deliveryID: Int64?
            var events: [AuditEvent] = []
            let code = report.statusCode.map { "mesh_\($0)" } ?? "mesh_report"
            // The delivery it concerns: by the message id MESH gave us, else by our local id.
            if let delivery = try Row.fetchOne(db, sql: """
                SELECT d.id, d.referral, d.destination, d.state, r.referral_id, r.agency FROM delivery d JOIN referral r ON r.id = d.referral
                WHERE (d.remote_reference = ? AND ? != '') OR d.idempotency_key = ? LIMIT 1
                """, arguments: [report.linkedMessageID ?? "", report.linkedMessageID ?? "", report.localID ?? ""]) {
                let id: Int64 = delivery["id"]
                let referralId: String = delivery["referral_id"]
                let destination: String = delivery["destination"]
                deliveryID = id
                if report.success {
                    match = .deliveryConfirmed(referralId: referralId, destination: destination)
                } else {
                    let text = ["MESH non-delivery report", report.statusCode.map { "status \($0)" }, report.statusEvent, report.description]
                        .compactMap { $0 }.joined(separator: ": ")
                    try db.execute(sql: """
                        UPDATE delivery SET state = 'dead', last_error = ?, last_status = NULL
                        WHERE id = ? AND state IN ('pending', 'delivered')
                        """, arguments: [text, id])
                    match = .deliveryFailed(referralRowID: delivery["referral"], referralId: referralId, destination: destination)
                    var detail: JSONObject = ["code": .string(code), "reportMessageId": .string(report.messageID)]
                    if let linked = report.linkedMessageID { detail["messageId"] = .string(linked) }
                    events.append(AuditEvent(kind: .deadLettered, at: report.at, referralId: referralId, agency: delivery["agency"],
                                             destination: destination, outcome: "mesh-non-delivery", detail: detail,
                                             referralRow: delivery["referral"]))
                }
            } else if let receipt = try Row.fetchOne(db, sql: """
                SELECT m.id, r.referral_id FROM mesh_receipt m JOIN referral r ON r.id = m.referral
                WHERE (m.message_id = ? AND ? != '') OR m.local_id = ? LIMIT 1
                """, arguments: [report.linkedMessageID ?? "", report.linkedMessageID ?? "", report.localID ?? ""]) {
                if !report.success {
                    try db.execute(sql: "UPDATE mesh_receipt SET state = 'failed', last_error = ? WHERE id = ?",
                                   arguments: ["MESH non-delivery report \(report.statusCode ?? "")", receipt["id"] as Int64])
                }
                match = .receipt(referralId: receipt["referral_id"], failed: !report.success)
            } else {
                var detail: JSONObject = ["code": .string(code), "reportMessageId": .string(report.messageID)]
                if let linked = report.linkedMessageID { detail["messageId"] = .string(linked) }
                events.append(AuditEvent(kind: .alert, at: report.at, agency: report.agency, outcome: "mesh-report-unmatched", detail: detail))
            }
            let matchName = switch match {
            case .deliveryFailed: "delivery-failed"
            case .deliveryConfirmed: "delivery-confirmed"
            case .receipt: "receipt"
            case .unmatched, .alreadyRecorded: "unmatched"
            }
            try db.execute(sql: """
                INSERT INTO mesh_message (message_id, agency, mailbox, sender, workflow_id, message_type, outcome, report_match,
                                          linked_message_id, status_code, delivery, recorded_at)
                VALUES (?, ?, ?, '', ?, 'REPORT', 'report', ?, ?, ?, ?, ?)
                """, arguments: [report.messageID, report.agency, report.mailbox, report.workflowID, matchName, report.linkedMessageID,
                                 report.statusCode, deliveryID, report.at.millisecondsSinceEpoch])
            try Self.appendAudit(events, chain: chain, db: db)
            return match
        }
    }

    public func queueFinalMESHReceipts(agency: String, at: Timestamp) async throws(StoreError) -> Int {
        try await write { db -> Int in
            try db.execute(sql: """
                INSERT INTO mesh_receipt (referral, stage, agency, recipient, workflow_id, local_id, state, created_at)
                SELECT m.referral, 'final', m.agency, m.recipient, m.workflow_id, 'rr1-receipt-final-' || substr(m.local_id, 22), 'pending', ?
                FROM mesh_receipt m
                WHERE m.agency = ? AND m.stage = 'decision'
                  AND NOT EXISTS (SELECT 1 FROM mesh_receipt f WHERE f.referral = m.referral AND f.stage = 'final')
                  AND EXISTS (SELECT 1 FROM delivery d WHERE d.referral = m.referral)
                  AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.referral = m.referral AND d.state = 'pending')
                """, arguments: [at.millisecondsSinceEpoch, agency])
            return db.changesCount
        }
    }

    public func pendingMESHReceipts(agency: String, limit: Int) async throws(StoreError) -> [MESHPendingReceipt] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, referral, stage, recipient, workflow_id, local_id, attempts FROM mesh_receipt
                WHERE agency = ? AND state = 'pending' ORDER BY id LIMIT ?
                """, arguments: [agency, limit]).map { row in
                MESHPendingReceipt(id: row["id"], referralRowID: row["referral"], stage: row["stage"], recipient: row["recipient"],
                                   workflowID: row["workflow_id"], localID: row["local_id"], attempts: row["attempts"])
            }
        }
    }

    public func recordMESHReceiptAttempt(id: Int64, result: MESHReceiptAttemptResult, at: Timestamp) async throws(StoreError) {
        try await write { db in
            switch result {
            case .sent(let messageID):
                try db.execute(sql: """
                    UPDATE mesh_receipt SET state = 'sent', attempts = attempts + 1, message_id = ?, sent_at = ?, last_error = NULL
                    WHERE id = ? AND state = 'pending'
                    """, arguments: [messageID, at.millisecondsSinceEpoch, id])
            case .retry(let code):
                try db.execute(sql: "UPDATE mesh_receipt SET attempts = attempts + 1, last_error = ? WHERE id = ? AND state = 'pending'",
                               arguments: [code, id])
            case .failed(let code):
                try db.execute(sql: "UPDATE mesh_receipt SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? AND state = 'pending'",
                               arguments: [code, id])
            }
        }
    }

    /// The decision receipt of a MESH referral, once. Its local id is derived from the referral row
    /// and is stable, so a receipt whose answer was lost is found by tracking, not sent twice.
    static func queueDecisionReceipt(referralRowID: Int64, agency: String, receipt: MESHReceiptRequest, at: Timestamp, db: Database) throws {
        let key = Digest.hex(Digest.sha256(Array("mesh-receipt\n\(agency)\n\(referralRowID)".utf8)).prefix(16))
        try db.execute(sql: """
            INSERT INTO mesh_receipt (referral, stage, agency, recipient, workflow_id, local_id, state, created_at)
            VALUES (?, 'decision', ?, ?, ?, ?, 'pending', ?)
            ON CONFLICT DO NOTHING
            """, arguments: [referralRowID, agency, receipt.recipient, receipt.workflowID, "rr1-receipt-decision-" + key, at.millisecondsSinceEpoch])
    }
}
