import GRDB

/// v4: a referral that was returned, needed consent or was forwarded by the safety net may be
/// corrected and sent again under the same referralId. Only an accepted referralId is unique.
enum ResubmissionMigration {
    static let name = "v4-resubmission-after-return"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            DROP INDEX IF EXISTS referral_document_id;
            CREATE UNIQUE INDEX referral_document_id_accepted ON referral (referral_id) WHERE has_document_id = 1 AND receipt_code = 'ACCEPTED';
            CREATE INDEX referral_by_referral_id ON referral (referral_id);
            """)
    }
}
