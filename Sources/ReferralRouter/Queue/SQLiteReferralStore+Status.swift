import Foundation
import GRDB
import JSONSchema

extension SQLiteReferralStore {
    public func receiptSnapshots(referralRowIDs: [Int64]) async throws(StoreError) -> [Int64: ReceiptSnapshot] {
        guard !referralRowIDs.isEmpty else { return [:] }
        return try await read { db in
            let referral = try db.cachedStatement(sql: """
                SELECT referral_id, agency, receipt_name, source_name, received_at, receipt_code, reasons, issues, safety_net
                FROM referral WHERE id = ?
                """)
            let deliveries = try db.cachedStatement(sql: """
                SELECT destination, partner_type, state, attempts, last_error, last_status, delivered_at
                FROM delivery WHERE referral = ? ORDER BY id
                """)
            var snapshots: [Int64: ReceiptSnapshot] = [:]
            for rowID in referralRowIDs {
                guard let row = try Row.fetchOne(referral, arguments: [rowID]) else { continue }
                let destinations = try Row.fetchAll(deliveries, arguments: [rowID]).map { delivery in
                    ReceiptSnapshot.Destination(
                        destination: delivery["destination"], partnerType: delivery["partner_type"], state: delivery["state"],
                        attempts: delivery["attempts"], lastError: delivery["last_error"], lastStatus: delivery["last_status"],
                        deliveredAt: (delivery["delivered_at"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
                }
                snapshots[rowID] = ReceiptSnapshot(
                    referralId: row["referral_id"], agency: row["agency"], receiptName: row["receipt_name"],
                    sourceName: row["source_name"], receivedAt: Timestamp(millisecondsSinceEpoch: row["received_at"]),
                    receipt: ReceiptCode(rawValue: row["receipt_code"]) ?? .rejected, reasons: Self.strings(row["reasons"]),
                    issues: Self.issues(row["issues"]), safetyNet: row["safety_net"], destinations: destinations)
            }
            return snapshots
        }
    }

    /// Stored JSON arrays; "[]" (every accepted referral) needs no parser.
    private static func strings(_ text: String) -> [String] {
        guard text != "[]" else { return [] }
        return (try? JSONDocument(parsing: text).root.arrayValue?.compactMap(\.stringValue)) ?? []
    }

    private static func issues(_ text: String) -> [ValidationIssue] {
        guard text != "[]" else { return [] }
        return (try? JSONDocument(parsing: text).root.arrayValue?.compactMap(ValidationIssue.init(json:))) ?? []
    }

    public func status() async throws(StoreError) -> StoreStatus {
        try await read { db in
            let referrals = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM referral") ?? 0
            var byReceipt: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT receipt_code, COUNT(*) AS n FROM referral GROUP BY receipt_code") {
                byReceipt[row["receipt_code"]] = row["n"]
            }
            let duplicates = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM duplicate") ?? 0
            let destinations = try Row.fetchAll(db, sql: """
                SELECT d.destination,
                       SUM(d.state = 'pending') AS pending, SUM(d.state = 'delivered') AS delivered, SUM(d.state = 'dead') AS dead,
                       MIN(CASE WHEN d.state = 'pending' THEN r.received_at END) AS oldest,
                       SUM(d.state = 'pending' AND d.priority = 0) AS immediate,
                       MIN(CASE WHEN d.state = 'pending' AND d.priority = 0 THEN r.received_at END) AS oldest_immediate
                FROM delivery d JOIN referral r ON r.id = d.referral GROUP BY d.destination ORDER BY d.destination
                """).map { row in
                StoreStatus.DestinationCounts(
                    destination: row["destination"], pending: row["pending"], delivered: row["delivered"], dead: row["dead"],
                    oldestPendingAt: (row["oldest"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)),
                    pendingImmediate: row["immediate"],
                    oldestImmediatePendingAt: (row["oldest_immediate"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
            }
            let agencies = try Row.fetchAll(db, sql: """
                SELECT agency, COUNT(*) AS n, MAX(received_at) AS last FROM referral GROUP BY agency ORDER BY agency
                """).map { row in
                StoreStatus.AgencyCounts(agency: row["agency"], received: row["n"],
                                         lastReceivedAt: (row["last"] as Int64?).map(Timestamp.init(millisecondsSinceEpoch:)))
            }
            let audit = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM audit") ?? 0
            return StoreStatus(referrals: referrals, byReceipt: byReceipt, duplicates: duplicates, destinations: destinations,
                               agencies: agencies, auditEvents: audit)
        }
    }
}

extension ValidationIssue {
    init?(json: JSONValue) {
        guard let pointer = json["pointer"]?.stringValue, let keyword = json["keyword"]?.stringValue,
              let message = json["message"]?.stringValue else { return nil }
        self.init(pointer: pointer, keyword: keyword, message: message, line: json["line"]?.numberValue?.intValue,
                  column: json["column"]?.numberValue?.intValue, schemaLocation: json["schemaLocation"]?.stringValue)
    }
}
