import Foundation
import GRDB
import JSONSchema

extension SQLiteReferralStore {
    public func commitIntake(_ records: [IntakeRecord]) async throws(StoreError) -> [IntakeCommitResult] {
        let chain = self.chain
        // The audit events of the usual outcome (stored as decided), rendered before the transaction:
        // the writer is the one serial stage.
        let rendered = records.map { AuditEvent.intake($0).map(RenderedAuditEvent.init) }
        // Nearly always no record breaks a constraint, and the batch goes in as it is, with no savepoint
        // (a savepoint makes SQLite copy every page it changes to a sub-journal first). When one does,
        // that transaction is rolled back and the batch goes in again with a savepoint per record.
        let results = try await writeOrRollBack { db -> [IntakeCommitResult]? in
            do {
                return try zip(records, rendered).map { try Self.commit($0, rendered: $1, chain: chain, db: db) }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                return nil
            }
        }
        if let results { return results }
        return try await write { db in
            try zip(records, rendered).map { try Self.commitIsolated($0, rendered: $1, chain: chain, db: db) }
        }
    }

    /// Each record in its own savepoint: one record the database refuses (a constraint it breaks)
    /// is stored as rejected with the reason instead, and never takes the rest of the batch with it.
    /// I/O and disk-full errors still fail the whole batch (nothing is half-committed).
    private static func commitIsolated(_ record: IntakeRecord, rendered: [RenderedAuditEvent], chain: AuditChain,
                                       db: Database) throws -> IntakeCommitResult {
        var result: IntakeCommitResult?
        do {
            try db.inSavepoint {
                result = try commit(record, rendered: rendered, chain: chain, db: db)
                return .commit
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            var refused = record
            let reason = "The referral could not be queued (the database refused it: \(error.message ?? "constraint")). It has been kept; tell the router's operators."
            refused.decision = RoutingDecision(receipt: .rejected, reasons: [reason], safetyNet: nil, rules: record.decision.rules,
                                               deliveries: [], notSent: [], priority: record.decision.priority)
            refused.issues.append(ValidationIssue(pointer: "", keyword: "queue", message: reason, line: nil, column: nil, schemaLocation: nil))
            try db.inSavepoint {
                result = try commit(refused, rendered: nil, chain: chain, db: db)
                return .commit
            }
        }
        guard let result else { throw StoreError.other("intake commit produced no result") }
        return result
    }

    /// One record inside the batch transaction. Duplicate checks see earlier records of the same batch.
    /// `rendered` holds the record's intake events as it stands; they are used only if it is stored so.
    private static func commit(_ record: IntakeRecord, rendered: [RenderedAuditEvent]?, chain: AuditChain,
                               db: Database) throws -> IntakeCommitResult {
        let hash = Data(record.contentHash)
        // The same agency sending the same bytes again (or our own crash between commit and removing
        // the source): recorded, never queued twice. A rejected original does not count, so a file
        // rejected under a broken configuration can be resent.
        if let original = try Row.fetchOne(db.cachedStatement(sql: """
            SELECT id, referral_id FROM referral WHERE agency = ? AND content_sha256 = ? AND receipt_code != 'REJECTED' LIMIT 1
            """), arguments: [record.agency, hash]) {
            let originalID: Int64 = original["id"]
            let originalReferral: String = original["referral_id"]
            try db.execute(sql: """
                INSERT INTO duplicate (agency, source_name, content_sha256, original, detected_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [record.agency, record.source.name, hash, originalID, record.receivedAt.millisecondsSinceEpoch])
            try appendAudit([AuditEvent(kind: .duplicate, at: record.receivedAt, referralId: originalReferral, agency: record.agency,
                                        outcome: "duplicate-content", detail: ["sha256": .string(Digest.hex(record.contentHash))],
                                        referralRow: originalID)],
                            chain: chain, db: db)
            return .duplicateContent(originalReferralId: originalReferral)
        }

        var record = record
        var conflict: ValidationIssue?
        if record.referralIdFromDocument, record.decision.receipt != .rejected {
            let earlier = try Row.fetchAll(db.cachedStatement(sql: """
                SELECT id, agency, received_at, content_sha256, receipt_code, receipt_name FROM referral
                WHERE referral_id = ? AND has_document_id = 1 AND receipt_code != 'REJECTED' ORDER BY id DESC
                """), arguments: [record.referralId])
            // The same referral (same id, same bytes) from another agency too: a duplicate, recorded
            // and not queued twice.
            if let same = earlier.first(where: { ($0["content_sha256"] as Data) == hash }) {
                try db.execute(sql: """
                    INSERT INTO duplicate (agency, source_name, content_sha256, original, detected_at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [record.agency, record.source.name, hash, same["id"] as Int64, record.receivedAt.millisecondsSinceEpoch])
                try appendAudit([AuditEvent(kind: .duplicate, at: record.receivedAt, referralId: record.referralId, agency: record.agency,
                                            outcome: "duplicate-referral-id", detail: ["sha256": .string(Digest.hex(record.contentHash))],
                                            referralRow: same["id"])],
                                chain: chain, db: db)
                return .duplicateContent(originalReferralId: record.referralId)
            }
            if let accepted = earlier.first(where: { ($0["receipt_code"] as String) == ReceiptCode.accepted.rawValue }) {
                // A different document reusing an accepted id: rejected with the reason, kept.
                let when = Timestamp(millisecondsSinceEpoch: accepted["received_at"]).rfc3339
                let reason = "A different referral with referralId \(record.referralId) was already accepted at \(when). Give each referral its own referralId; to add information to a referral, send a new one that refers to it."
                record.decision = RoutingDecision(receipt: .rejected, reasons: [reason], safetyNet: nil, rules: record.decision.rules,
                                                  deliveries: [], notSent: [], priority: record.decision.priority)
                let issue = ValidationIssue(pointer: "/referralId", keyword: "uniqueReferralId", message: reason,
                                            line: nil, column: nil, schemaLocation: nil)
                record.issues.append(issue)
                conflict = issue
            }
        }
        // The newest version of a referral that was not accepted (rejected, returned, needed consent or
        // only forwarded by the safety net) takes over its <referralId>.json receipt; the earlier row's
        // receipt is renamed. An accepted referral keeps its receipt.
        if record.referralIdFromDocument, conflict == nil {
            // (Only when the new name is free; otherwise the new version gets a fallback name below.)
            try db.cachedStatement(sql: """
                UPDATE referral AS r SET receipt_name = r.referral_id || '-superseded-' || r.id || '.json'
                WHERE r.agency = ? AND r.receipt_name = ? AND r.receipt_code != 'ACCEPTED'
                  AND NOT EXISTS (SELECT 1 FROM referral AS o
                                  WHERE o.agency = r.agency AND o.receipt_name = r.referral_id || '-superseded-' || r.id || '.json')
                """).execute(arguments: [record.agency, "\(record.referralId).json"])
        }

        let receiptName = try uniqueReceiptName(for: record, db: db)
        let decision = record.decision
        let source: (detail: String?, name: String) = switch record.source {
        case .folder(let name): (nil, name)
        case .mesh(let messageID, let from, let workflow):
            (JSONValue.object(["from": .string(from), "workflowId": .string(workflow)]).jsonText(), messageID)
        }
        try db.cachedStatement(sql: """
            INSERT INTO referral (referral_id, has_document_id, agency, source_kind, source_name, source_detail, content_sha256,
                                  received_at, receipt_code, receipt_name, priority, safety_net, reasons, issues, document)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
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
                                  idempotency_key, state, attempts, next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
            """)
        let insertPayload = try db.cachedStatement(sql: "INSERT INTO delivery_payload (delivery, payload) VALUES (?, ?)")
        for delivery in decision.deliveries {
            try insertDelivery.execute(arguments: [
                rowID, delivery.destination, delivery.partnerType.rawValue, delivery.rule, delivery.basis,
                decision.priority.rawValue, delivery.format.rawValue, delivery.contentType, delivery.idempotencyKey,
                record.receivedAt.millisecondsSinceEpoch, record.receivedAt.millisecondsSinceEpoch,
            ])
            let deliveryID = db.lastInsertedRowID
            try insertPayload.execute(arguments: [deliveryID, Data(delivery.payload)])
            scheduled.append(ScheduledDelivery(id: deliveryID, destination: delivery.destination, priority: decision.priority,
                                               attempts: 0, nextAttemptAt: record.receivedAt, acceptedAt: record.receivedAt))
        }
        // A conflicting id changed the decision above: its events are rendered afresh.
        let events = (conflict == nil ? rendered : nil) ?? AuditEvent.intake(record).map(RenderedAuditEvent.init)
        try appendAudit(events.map { $0.about(referralRow: rowID) }, chain: chain, db: db)
        let stored = StoredReferral(rowID: rowID, referralId: record.referralId, receiptName: receiptName,
                                    receipt: decision.receipt, deliveries: scheduled)
        if let conflict { return .conflictingReferralId(stored, issue: conflict) }
        return .stored(stored)
    }

    /// `<referralId>.json`, unless this agency already has a receipt by that name (a resent or
    /// conflicting referral): then the content hash disambiguates.
    private static func uniqueReceiptName(for record: IntakeRecord, db: Database) throws -> String {
        let base = record.referralId
        let suffix = Digest.hex(record.contentHash).prefix(12)
        // One candidate at a time: nearly always the first is free.
        let exists = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM referral WHERE agency = ? AND receipt_name = ?)")
        for attempt in 0...1001 {
            let candidate = switch attempt {
            case 0: "\(base).json"
            case 1: "\(base)-\(suffix).json"
            default: "\(base)-\(suffix)-\(attempt - 1).json"
            }
            if try Bool.fetchOne(exists, arguments: [record.agency, candidate]) != true { return candidate }
        }
        return "\(base)-\(Digest.hex(Digest.sha256(Array("\(record.receivedAt.millisecondsSinceEpoch)".utf8)).prefix(8)))-\(suffix).json"
    }
}
