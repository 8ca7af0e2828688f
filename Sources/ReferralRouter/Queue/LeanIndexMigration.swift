import GRDB

/// v6: fewer random-keyed index pages per referral. Every index keyed by a random value (a UUID, a
/// hash) puts each new referral on a different page, which the write transaction must copy into
/// the WAL; indexes keyed by row numbers grow at one end and share pages.
///
/// - The audit is found by the referral's integer row (`referral`, new) instead of its text id.
///   The column is a look-up aid, not hashed into the chain (the text `referral_id` is).
/// - One index on `referral_id` instead of two: it is unique on (referral_id, 1 when the row is an
///   accepted referral with its own id, else NULL), so at most one accepted referral holds an id
///   (SQLite's UNIQUE lets NULLs repeat) and every look-up by id still has its index.
/// - `delivery_by_referral` duplicated the `UNIQUE (referral, destination)` index's leading column.
enum LeanIndexMigration {
    static let name = "v6-lean-indexes"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE audit ADD COLUMN referral INTEGER;
            UPDATE audit SET referral = (SELECT MAX(r.id) FROM referral AS r WHERE r.referral_id = audit.referral_id)
            WHERE referral_id IS NOT NULL;
            DROP INDEX audit_by_referral;
            CREATE INDEX audit_by_referral_row ON audit (referral) WHERE referral IS NOT NULL;

            DROP INDEX referral_document_id_accepted;
            DROP INDEX referral_by_referral_id;
            CREATE UNIQUE INDEX referral_by_referral_id ON referral (
                referral_id, (CASE WHEN has_document_id = 1 AND receipt_code = 'ACCEPTED' THEN 1 END));

            DROP INDEX delivery_by_referral;
            """)
    }
}
