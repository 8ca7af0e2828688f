import Foundation
import GRDB
import JSONSchema

extension SQLiteReferralStore {
    public func pendingDeliveries() async throws(StoreError) -> [ScheduledDelivery] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT d.id, d.destination, d.priority, d.attempts, d.next_attempt_at, r.received_at
                FROM delivery d JOIN referral r ON r.id = d.referral
                WHERE d.state = 'pending' ORDER BY d.priority, d.id
                """).map { row in
                ScheduledDelivery(id: row["id"], destination: row["destination"],
                                  priority: DeliveryPriority(rawValue: row["priority"]) ?? .routine,
                                  attempts: row["attempts"],
                                  nextAttemptAt: Timestamp(millisecondsSinceEpoch: row["next_attempt_at"]),
                                  acceptedAt: Timestamp(millisecondsSinceEpoch: row["received_at"]))
            }
        }
    }

    public func loadDeliveries(ids: [Int64]) async throws(StoreError) -> [DeliveryLoad] {
        guard !ids.isEmpty else { return [] }
        return try await read { db in
            let statement = try db.cachedStatement(sql: """
                SELECT d.id, d.referral, d.destination, d.rule, p.payload, d.content_type, d.idempotency_key, d.attempts,
                       d.priority, d.remote_reference, d.state, r.referral_id, r.agency, r.received_at
                FROM delivery d JOIN referral r ON r.id = d.referral LEFT JOIN delivery_payload p ON p.delivery = d.id
                WHERE d.id = ?
                """)
            return try ids.map { id -> DeliveryLoad in
                guard let row = try Row.fetchOne(statement, arguments: [id]), (row["state"] as String) == "pending" else { return .notPending }
                guard let payload = row["payload"] as Data? else { return .corrupt("delivery \(id) has no payload") }
                return .ready(OutboundDelivery(
                    id: row["id"], referralRowID: row["referral"], referralId: row["referral_id"], agency: row["agency"],
                    destination: row["destination"], rule: row["rule"], payload: [UInt8](payload), contentType: row["content_type"],
                    idempotencyKey: row["idempotency_key"], attempts: row["attempts"],
                    acceptedAt: Timestamp(millisecondsSinceEpoch: row["received_at"]),
                    priority: DeliveryPriority(rawValue: row["priority"]) ?? .routine, remoteReference: row["remote_reference"]))
            }
        }
    }

    public func recordAttempts(_ attempts: [DeliveryAttemptRecord]) async throws(StoreError) {
        guard !attempts.isEmpty else { return }
        let chain = self.chain
        // Rendered before the transaction: the writer is the one serial stage.
        let events = attempts.map { RenderedAuditEvent(Self.auditEvent(for: $0)) }
        try await write { db in
            for attempt in attempts { try Self.record(attempt, db: db) }
            try Self.appendAudit(events, chain: chain, db: db)
        }
    }

    private static func record(_ attempt: DeliveryAttemptRecord, db: Database) throws {
        let at = attempt.at.millisecondsSinceEpoch
        switch attempt.result {
        case .delivered(let status, let reference):
            try db.cachedStatement(sql: """
                UPDATE delivery SET state = 'delivered', attempts = ?, last_status = ?, last_error = NULL, delivered_at = ?,
                       remote_reference = COALESCE(?, remote_reference)
                WHERE id = ? AND state = 'pending'
                """).execute(arguments: [attempt.attempt, status, at, reference, attempt.deliveryID])
        case .willRetry(let next, let error, let status):
            try db.cachedStatement(sql: """
                UPDATE delivery SET attempts = ?, next_attempt_at = ?, last_error = ?, last_status = ? WHERE id = ? AND state = 'pending'
                """).execute(arguments: [attempt.attempt, next.millisecondsSinceEpoch, error, status, attempt.deliveryID])
        case .deadLettered(let reason, let status):
            try db.cachedStatement(sql: """
                UPDATE delivery SET state = 'dead', attempts = ?, last_error = ?, last_status = ? WHERE id = ? AND state = 'pending'
                """).execute(arguments: [attempt.attempt, reason, status, attempt.deliveryID])
        }
    }

    /// The audit event of an attempt: codes only (a partner's answer text may echo personal data).
    private static func auditEvent(for attempt: DeliveryAttemptRecord) -> AuditEvent {
        var detail: JSONObject = ["attempt": .number(JSONNumber(attempt.attempt))]
        let kind: AuditEvent.Kind
        let outcome: String
        switch attempt.result {
        case .delivered(let status, _):
            detail["status"] = .number(JSONNumber(status))
            (kind, outcome) = (.delivered, "delivered")
        case .willRetry(let next, _, let status):
            detail["code"] = .string(attempt.code)
            if let status { detail["status"] = .number(JSONNumber(status)) }
            detail["nextAttemptAt"] = .string(next.rfc3339)
            (kind, outcome) = (.retry, "retry")
        case .deadLettered(_, let status):
            detail["code"] = .string(attempt.code)
            if let status { detail["status"] = .number(JSONNumber(status)) }
            (kind, outcome) = (.deadLettered, "dead-lettered")
        }
        return AuditEvent(kind: kind, at: attempt.at, referralId: attempt.referralId, agency: attempt.agency,
                          destination: attempt.destination, outcome: outcome, detail: detail, referralRow: attempt.referralRowID)
    }

    public func recordRemoteReference(deliveryID: Int64, reference: String) async throws(StoreError) {
        try await write { db in
            try db.execute(sql: "UPDATE delivery SET remote_reference = ? WHERE id = ?", arguments: [reference, deliveryID])
        }
    }
}

extension SQLiteReferralStore {
    public func requeueDeadDeliveries(destination: String?, referralId: String?, at: Timestamp) async throws(StoreError) -> Int {
        let chain = self.chain
        return try await write { db in
            try db.execute(sql: """
                UPDATE delivery SET state = 'pending', attempts = 0, next_attempt_at = ?, last_error = 'requeued by an operator'
                WHERE state = 'dead' AND (? IS NULL OR destination = ?)
                  AND (? IS NULL OR referral IN (SELECT id FROM referral WHERE referral_id = ?))
                """, arguments: [at.millisecondsSinceEpoch, destination, destination, referralId, referralId])
            let count = db.changesCount
            if count > 0 {
                var detail: JSONObject = ["count": .number(JSONNumber(count))]
                if let destination { detail["destination"] = .string(destination) }
                try Self.appendAudit([AuditEvent(kind: .requeued, at: at, referralId: referralId, destination: destination,
                                                 outcome: "requeued", detail: detail)], chain: chain, db: db)
            }
            return count
        }
    }
}
