import GRDB

/// The store's MESH tables (issue 8), a migration of its own after v1 (never edited once shipped).
///
/// - `mesh_message`: every message taken from (or seen in) a MESH inbox, once per message id: what
///   it became (a referral, a duplicate, an unaccepted workflow, a report) and when it was
///   acknowledged. A message seen again after a crash is found here (or by the referral's
///   `source_name`) and becomes a recorded duplicate, never a second referral.
/// - `mesh_receipt`: receipts owed to MESH senders, sent durably like deliveries.
/// - A referral's MESH message id is unique among referrals that are not REJECTED (v3): the
///   database refuses a second referral from one message, and intake stores the refused one as
///   rejected without failing the rest of its batch.
enum MESHStoreMigration {
    static let name = "v2-mesh-messages-receipts"
    static let rejectedExemptName = "v3-mesh-message-index-exempts-rejected"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE mesh_message (
                message_id TEXT PRIMARY KEY,
                agency TEXT NOT NULL,
                mailbox TEXT NOT NULL,
                sender TEXT NOT NULL,
                workflow_id TEXT NOT NULL,
                message_type TEXT NOT NULL CHECK (message_type IN ('DATA', 'REPORT')),
                outcome TEXT NOT NULL CHECK (outcome IN ('referral', 'duplicate', 'unaccepted-workflow', 'report')),
                referral INTEGER REFERENCES referral (id),
                report_match TEXT CHECK (report_match IN ('delivery-failed', 'delivery-confirmed', 'receipt', 'unmatched')),
                linked_message_id TEXT,
                status_code TEXT,
                delivery INTEGER REFERENCES delivery (id),
                recorded_at INTEGER NOT NULL,
                acknowledged_at INTEGER,
                seen_again INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX mesh_message_by_agency ON mesh_message (agency, outcome);
            CREATE UNIQUE INDEX referral_mesh_message ON referral (source_name) WHERE source_kind = 'mesh';
            CREATE INDEX delivery_by_remote_reference ON delivery (remote_reference) WHERE remote_reference IS NOT NULL;

            CREATE TABLE mesh_receipt (
                id INTEGER PRIMARY KEY,
                referral INTEGER NOT NULL REFERENCES referral (id),
                stage TEXT NOT NULL CHECK (stage IN ('decision', 'final')),
                agency TEXT NOT NULL,
                recipient TEXT NOT NULL,
                workflow_id TEXT NOT NULL,
                local_id TEXT NOT NULL UNIQUE,
                state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                message_id TEXT,
                created_at INTEGER NOT NULL,
                sent_at INTEGER,
                UNIQUE (referral, stage)
            );
            CREATE INDEX mesh_receipt_pending ON mesh_receipt (agency, id) WHERE state = 'pending';
            """)
    }

    /// v2's index refused a second referral from one message even as REJECTED, so intake's
    /// fallback (store the refused record as rejected) failed too and sank the whole batch.
    static func exemptRejected(_ db: Database) throws {
        try db.execute(sql: """
            DROP INDEX referral_mesh_message;
            CREATE UNIQUE INDEX referral_mesh_message ON referral (source_name) WHERE source_kind = 'mesh' AND receipt_code != 'REJECTED';
            """)
    }
}
