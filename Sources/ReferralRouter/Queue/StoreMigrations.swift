import GRDB

/// The queue's schema. A migration is never edited once shipped: add a new one. Constraints live in
/// SQL (NOT NULL, CHECK, UNIQUE per referral and destination), so the database refuses what the code
/// should never do.
enum StoreMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-referrals-deliveries-audit") { db in
            try db.execute(sql: """
                CREATE TABLE referral (
                    id INTEGER PRIMARY KEY,
                    referral_id TEXT NOT NULL,
                    has_document_id INTEGER NOT NULL CHECK (has_document_id IN (0, 1)),
                    agency TEXT NOT NULL,
                    source_kind TEXT NOT NULL CHECK (source_kind IN ('folder', 'mesh')),
                    source_name TEXT NOT NULL,
                    source_detail TEXT,
                    content_sha256 BLOB NOT NULL,
                    received_at INTEGER NOT NULL,
                    receipt_code TEXT NOT NULL,
                    receipt_name TEXT NOT NULL,
                    priority INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
                    safety_net TEXT,
                    reasons TEXT NOT NULL,
                    issues TEXT NOT NULL,
                    document BLOB NOT NULL,
                    UNIQUE (agency, receipt_name)
                );
                CREATE UNIQUE INDEX referral_content ON referral (agency, content_sha256) WHERE receipt_code != 'REJECTED';
                CREATE UNIQUE INDEX referral_document_id ON referral (referral_id) WHERE has_document_id = 1 AND receipt_code != 'REJECTED';
                CREATE INDEX referral_by_agency ON referral (agency, received_at);

                CREATE TABLE delivery (
                    id INTEGER PRIMARY KEY,
                    referral INTEGER NOT NULL REFERENCES referral (id),
                    destination TEXT NOT NULL,
                    partner_type TEXT NOT NULL,
                    rule TEXT NOT NULL,
                    basis TEXT NOT NULL,
                    priority INTEGER NOT NULL CHECK (priority IN (0, 1, 2)),
                    format TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL UNIQUE,
                    payload BLOB NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT,
                    last_status INTEGER,
                    delivered_at INTEGER,
                    remote_reference TEXT,
                    created_at INTEGER NOT NULL,
                    UNIQUE (referral, destination)
                );
                CREATE INDEX delivery_pending ON delivery (destination, priority, id) WHERE state = 'pending';
                CREATE INDEX delivery_by_referral ON delivery (referral);

                CREATE TABLE duplicate (
                    id INTEGER PRIMARY KEY,
                    agency TEXT NOT NULL,
                    source_name TEXT NOT NULL,
                    content_sha256 BLOB NOT NULL,
                    original INTEGER NOT NULL REFERENCES referral (id),
                    detected_at INTEGER NOT NULL
                );

                CREATE TABLE audit (
                    seq INTEGER PRIMARY KEY,
                    at INTEGER NOT NULL,
                    event TEXT NOT NULL,
                    referral_id TEXT,
                    agency TEXT,
                    destination TEXT,
                    rule TEXT,
                    outcome TEXT,
                    detail TEXT NOT NULL,
                    prev_hash BLOB NOT NULL,
                    hash BLOB NOT NULL
                );
                CREATE INDEX audit_by_referral ON audit (referral_id);
                """)
        }
        migrator.registerMigration(MESHStoreMigration.name, migrate: MESHStoreMigration.migrate)
        migrator.registerMigration(MESHStoreMigration.rejectedExemptName, migrate: MESHStoreMigration.exemptRejected)
        migrator.registerMigration(ResubmissionMigration.name, migrate: ResubmissionMigration.migrate)
        migrator.registerMigration(PayloadTableMigration.name, migrate: PayloadTableMigration.migrate)
        migrator.registerMigration(LeanIndexMigration.name, migrate: LeanIndexMigration.migrate)
        return migrator
    }
}
