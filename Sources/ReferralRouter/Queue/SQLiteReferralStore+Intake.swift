import Foundation
import GRDB
import JSONSchema

extension SQLiteReferralStore {
    public func commitIntake(_ records: [IntakeRecord]) async throws(StoreError) -> [IntakeCommitResult] {
        let chain = self.chain
        return try await write { db in
            try records.map { try Self.commit($0, chain: chain, db: db) }
        }
    }

    /// One record inside the batch transaction. Duplicate checks see earlier records of the same batch.
    private static func commit(_ record: IntakeRecord, chain: AuditChain, db: Database) throws -> IntakeCommitResult {
        let hash = Data(record.contentHash)
        // The same agency sending the same bytes again (or our own crash between commit and removing
        // the source): recorded, never queued twice. A rejected original does not count, so a file
        // rejected under a broken configuration can be resent.
        if let original = try Row.fetchOne(db, sql: """
            SELECT id, referral_id FROM referral WHERE agency = ? AND content_sha256 = ? AND receipt_code != 'REJECTED' LIMIT 1
            """, arguments: [record.agency, hash]) {
            let originalID: Int64 = original["id"]
            let originalReferral: String = original["referral_id"]
            try db.execute(sql: """
                INSERT INTO duplicate (agency, source_name, content_sha256, original, detected_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [record.agency, record.source.name, hash, originalID, record.receivedAt.millisecondsSinceEpoch])
            try appendAudit([AuditEvent(kind: .duplicate, at: record.receivedAt, referralId: originalReferral, agency: record.agency,
                                        outcome: "duplicate-content", detail: ["sha256": .string(Digest.hex(record.contentHash))])],
                            chain: chain, db: db)
            return .duplicateContent(originalReferralId: originalReferral)
        }

        var record = record
        var conflicting = false
        if record.referralIdFromDocument, record.decision.receipt != .rejected,
           let earlier = try Row.fetchOne(db, sql: """
               SELECT agency, received_at FROM referral WHERE referral_id = ? AND has_document_id = 1 AND receipt_code != 'REJECTED' LIMIT 1
               """, arguments: [record.referralId]) {
            let when = Timestamp(millisecondsSinceEpoch: earlier["received_at"]).rfc3339
            let reason = "A different referral with referralId \(record.referralId) was already received at \(when). Give each referral its own referralId; to add information to a referral, send a new one that refers to it."
            record.decision = RoutingDecision(receipt: .rejected, reasons: [reason], safetyNet: nil, rules: record.decision.rules,
                                              deliveries: [], notSent: [], priority: record.decision.priority)
            record.issues.append(ValidationIssue(pointer: "/referralId", keyword: "uniqueReferralId", message: reason,
                                                 line: nil, column: nil, schemaLocation: nil))
            conflicting = true
        }

        let receiptName = try uniqueReceiptName(for: record, db: db)
        let decision = record.decision
        let source: (detail: String?, name: String) = switch record.source {
        case .folder(let name): (nil, name)
        case .mesh(let messageID, let from, let workflow):
            (JSONValue.object(["from": .string(from), "workflowId": .string(workflow)]).jsonText(), messageID)
        }
        try db.execute(sql: """
            INSERT INTO referral (referral_id, has_document_id, agency, source_kind, source_name, source_detail, content_sha256,
                                  received_at, receipt_code, receipt_name, priority, safety_net, reasons, issues, document)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [
                record.referralId, record.referralIdFromDocument ? 1 : 0, record.agency, record.source.kind, source.name,
                source.detail, hash, record.receivedAt.millisecondsSinceEpoch, decision.receipt.rawValue, receiptName,
                decision.priority.rawValue, decision.safetyNet?.rawValue,
                JSONValue.array(decision.reasons.map(JSONValue.string)).jsonText(),
                JSONValue.array(record.issues.map(\.json)).jsonText(), Data(record.document),
            ])
        let rowID = db.lastInsertedRowID
        var scheduled: [ScheduledDelivery] = []
        let insertDelivery = try db.cachedStatement(sql: """
            INSERT INTO delivery (referral, destination, partner_type, rule, basis, priority, format, content_type,
                                  idempotency_key, payload, state, attempts, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
            """)
        for delivery in decision.deliveries {
            try insertDelivery.execute(arguments: [
                rowID, delivery.destination, delivery.partnerType.rawValue, delivery.rule, delivery.basis,
                decision.priority.rawValue, delivery.format.rawValue, delivery.contentType, delivery.idempotencyKey,
                Data(delivery.payload), record.receivedAt.millisecondsSinceEpoch, record.receivedAt.millisecondsSinceEpoch,
            ])
            scheduled.append(ScheduledDelivery(id: db.lastInsertedRowID, destination: delivery.destination, priority: decision.priority,
                                               attempts: 0, nextAttemptAt: record.receivedAt, acceptedAt: record.receivedAt))
        }
        try appendAudit(AuditEvent.intake(record), chain: chain, db: db)
        let stored = StoredReferral(rowID: rowID, referralId: record.referralId, receiptName: receiptName,
                                    receipt: decision.receipt, deliveries: scheduled)
        return conflicting ? .conflictingReferralId(stored) : .stored(stored)
    }

    /// `<referralId>.json`, unless this agency already has a receipt by that name (a resent or
    /// conflicting referral): then the content hash disambiguates.
    private static func uniqueReceiptName(for record: IntakeRecord, db: Database) throws -> String {
        let base = record.referralId
        let suffix = Digest.hex(record.contentHash).prefix(12)
        for candidate in ["\(base).json", "\(base)-\(suffix).json"] {
            let taken = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM referral WHERE agency = ? AND receipt_name = ?)",
                                          arguments: [record.agency, candidate]) ?? false
            if !taken { return candidate }
        }
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM referral WHERE agency = ?", arguments: [record.agency]) ?? 0
        return "\(base)-\(suffix)-\(count).json"
    }
}
