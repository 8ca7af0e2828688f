import Foundation
import GRDB
import TestSupport
import Testing
@testable import ReferralRouter

@Suite("Store migrations")
struct StoreMigrationTests {
    /// A database written by the previous release (schema v5), with two referrals under one id (the
    /// first returned, the second accepted) and their audit, opened by this release.
    @Test func v6IndexesTheAuditByReferralRowAndKeepsAcceptedIdsUnique() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "router-migration")
        defer { TestPaths.removeDirectory(directory) }
        let path = directory + "/queue.sqlite"
        let old = try DatabaseQueue(path: path)
        try StoreMigrations.migrator.migrate(old, upTo: PayloadTableMigration.name)
        try await old.write { db in
            for (row, code) in [(1, "RETURNED"), (2, "ACCEPTED")] {
                try db.execute(sql: """
                    INSERT INTO referral (id, referral_id, has_document_id, agency, source_kind, source_name, content_sha256, received_at,
                                          receipt_code, receipt_name, priority, reasons, issues, document)
                    VALUES (?, 'ref-1', 1, 'school-a', 'folder', ?, ?, 0, ?, ?, 1, '[]', '[]', x'7b7d')
                    """, arguments: [row, "file-\(row).json", Data([UInt8(row)]), code, "ref-1-\(row).json"])
            }
            for (seq, referralId) in [(1, "ref-1"), (2, nil), (3, "ref-1")] as [(Int, String?)] {
                try db.execute(sql: """
                    INSERT INTO audit (seq, at, event, referral_id, detail, prev_hash, hash) VALUES (?, 0, 'received', ?, '{}', x'00', x'00')
                    """, arguments: [seq, referralId])
            }
        }
        try old.close()

        _ = try SQLiteReferralStore(path: path, auditKey: nil)
        let connection = try DatabaseQueue(path: path)
        defer { try? connection.close() }
        try await connection.write { db in
            // Existing events point at the newest row with their referral id; others stay NULL.
            #expect(try Int64?.fetchAll(db, sql: "SELECT referral FROM audit ORDER BY seq") == [2, nil, 2])
            let indexes = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            #expect(indexes.contains("audit_by_referral_row"))
            #expect(indexes.contains("referral_by_referral_id"))
            #expect(!indexes.contains("audit_by_referral"))
            #expect(!indexes.contains("referral_document_id_accepted"))
            #expect(!indexes.contains("delivery_by_referral"))
            // Look-ups by id and by row use their indexes, not a scan of the table.
            let plans = try String.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT id FROM referral WHERE referral_id = 'ref-1' AND has_document_id = 1 AND receipt_code != 'REJECTED'
                """, adapter: ColumnMapping(["detail": "detail"])) + String.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT seq FROM audit WHERE referral = 2
                """, adapter: ColumnMapping(["detail": "detail"]))
            #expect(plans.allSatisfy { $0.contains("USING INDEX") || $0.contains("USING COVERING INDEX") }, "\(plans)")

            // A second accepted referral under an accepted id is still refused by the database; another
            // returned one is not.
            func insert(_ code: String, row: Int) throws {
                try db.execute(sql: """
                    INSERT INTO referral (id, referral_id, has_document_id, agency, source_kind, source_name, content_sha256, received_at,
                                          receipt_code, receipt_name, priority, reasons, issues, document)
                    VALUES (?, 'ref-1', 1, 'school-b', 'folder', ?, ?, 0, ?, ?, 1, '[]', '[]', x'7b7d')
                    """, arguments: [row, "file-\(row).json", Data([UInt8(row)]), code, "ref-1-\(row).json"])
            }
            #expect(throws: DatabaseError.self) { try insert("ACCEPTED", row: 3) }
            try insert("RETURNED", row: 4)
        }
    }
}
