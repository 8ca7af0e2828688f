import GRDB

/// v5: payloads in their own table. A delivery's state changes several times (attempts, outcome);
/// with its payload in the same row SQLite rewrote the whole blob into the WAL on every update.
enum PayloadTableMigration {
    static let name = "v5-delivery-payload-table"

    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE delivery_payload (
                delivery INTEGER PRIMARY KEY REFERENCES delivery (id),
                payload BLOB NOT NULL
            );
            INSERT INTO delivery_payload (delivery, payload) SELECT id, payload FROM delivery;
            ALTER TABLE delivery DROP COLUMN payload;
            """)
    }
}
