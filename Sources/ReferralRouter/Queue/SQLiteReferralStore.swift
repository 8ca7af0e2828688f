import Foundation
import GRDB
import JSONSchema
import Synchronization

/// The embedded store: SQLite in WAL mode with `synchronous=FULL`, so a commit has reached the disk
/// (WAL fsync'd) before `commitIntake` returns. One writer at a time (SQLite's rule); readers run
/// concurrently.
public final class SQLiteReferralStore: ReferralStore {
    let pool: DatabasePool
    let chain: AuditChain
    public let path: String
    private let writes = Atomic<Int>(0)
    /// Signalled after every committed write (the WAL checkpointer waits on it).
    let committed = WakeSignal()

    public var changeCount: Int { writes.load(ordering: .relaxed) }

    /// Opens (creating 0600 if needed) and migrates the database at `path`. With
    /// `checkpointsElsewhere`, a `WALCheckpointer` copies the WAL back into the database, and the
    /// writer does it only as a backstop (the daemon); otherwise the writer does it as SQLite does.
    /// SQLite's page cache per connection by default, in KiB (SQLite's own default is 2 MiB): the working
    /// set is the newest rows, and the file system cache holds the rest. `[router] writer_cache_kib` and
    /// `reader_cache_kib` trade memory for fewer pages spilled and read again.
    public static let defaultCacheKiB = 1024

    public init(path: String, auditKey: [UInt8]?, checkpointsElsewhere: Bool = false,
                writerCacheKiB: Int = defaultCacheKiB, readerCacheKiB: Int = defaultCacheKiB) throws(StoreError) {
        self.path = path
        self.chain = AuditChain(key: auditKey)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        // Readers: delivery loads, receipt snapshots and status. Each connection keeps its own page
        // cache, so a few are enough and keep the daemon's memory small.
        configuration.maximumReaderCount = 3
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -\(readerCacheKiB)")
            // Temporary tables, indexes and sub-journals (which hold copies of pages, so personal data)
            // stay in memory: nothing of a referral is written outside the state directory.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            // Created 0600 before SQLite opens it: the -wal and -shm files copy the database's mode.
            if !FileManager.default.fileExists(atPath: path),
               !FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) {
                throw StoreError.fatalIO("cannot create \(path)")
            }
            pool = try DatabasePool(path: path, configuration: configuration)
            // GRDB's WAL set-up chooses synchronous=NORMAL after any prepareDatabase hook, so FULL is
            // set on the (single, long-lived) writer connection afterwards and read back: a commit must
            // have reached the disk before intake removes a source file.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                try db.execute(sql: "PRAGMA cache_size = -\(writerCacheKiB)")
                if checkpointsElsewhere {
                    try db.execute(sql: "PRAGMA wal_autocheckpoint = \(WALCheckpointer.writerBackstopPages)")
                }
                guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else {
                    throw StoreError.fatalIO("SQLite refused synchronous=FULL")
                }
            }
            try StoreMigrations.migrator.migrate(pool)
        } catch {
            throw Self.map(error)
        }
    }

    /// Maps SQLite failures to the daemon's reactions.
    static func map(_ error: any Error) -> StoreError {
        if let store = error as? StoreError { return store }
        guard let database = error as? DatabaseError else { return .other(String(describing: error)) }
        // GRDB's description hides statement arguments (personal data) unless asked: keep it that way.
        let message = "\(database.resultCode): \(database.message ?? "no message")"
        switch database.resultCode {
        case .SQLITE_FULL: return .diskFull(message)
        case .SQLITE_IOERR, .SQLITE_CORRUPT, .SQLITE_NOTADB, .SQLITE_CANTOPEN, .SQLITE_READONLY: return .fatalIO(message)
        case .SQLITE_BUSY, .SQLITE_LOCKED: return .busy(message)
        default: return .other(message)
        }
    }

    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do {
            let result = try await pool.write(body)
            writes.add(1, ordering: .relaxed)
            committed.signal()
            return result
        } catch {
            throw Self.map(error)
        }
    }

    /// A write transaction that is rolled back, not committed, when the body returns nil.
    func writeOrRollBack<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T?) async throws(StoreError) -> T? {
        do {
            let result = try await pool.writeWithoutTransaction { db -> T? in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return result == nil ? .rollback : .commit
                }
                return result
            }
            if result != nil {
                writes.add(1, ordering: .relaxed)
                committed.signal()
            }
            return result
        } catch {
            throw Self.map(error)
        }
    }

    func read<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw Self.map(error)
        }
    }

    // MARK: - Audit

    public func appendAudit(_ events: [AuditEvent]) async throws(StoreError) {
        let chain = self.chain
        try await write { db in try Self.appendAudit(events, chain: chain, db: db) }
    }

    /// Appends events to the chain inside the caller's transaction.
    static func appendAudit(_ events: [AuditEvent], chain: AuditChain, db: Database) throws {
        try appendAudit(events.map(RenderedAuditEvent.init), chain: chain, db: db)
    }

    /// Appends events rendered beforehand: inside the transaction only their place in the chain
    /// (seq, previous hash, hash) is computed.
    static func appendAudit(_ events: [RenderedAuditEvent], chain: AuditChain, db: Database) throws {
        guard !events.isEmpty else { return }
        let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"))
        var seq: Int64 = head.map { $0["seq"] } ?? 0
        var previous: [UInt8] = head.map { [UInt8]($0["hash"] as Data) } ?? AuditChain.genesis
        let statement = try db.cachedStatement(sql: """
            INSERT INTO audit (seq, at, event, referral_id, agency, destination, rule, outcome, detail, prev_hash, hash, referral)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for rendered in events {
            seq += 1
            let event = rendered.event
            let hash = chain.hash(previous: previous, canonicalPrefix: rendered.canonicalPrefix, seq: seq)
            try statement.execute(arguments: [
                seq, event.at.millisecondsSinceEpoch, event.kind.rawValue, event.referralId, event.agency,
                event.destination, event.rule, event.outcome, rendered.detailText, Data(previous), Data(hash), event.referralRow,
            ])
            previous = hash
        }
    }

    /// Walks the whole chain, recomputing every hash.
    public func verifyAudit() async throws(StoreError) -> AuditVerification {
        let chain = self.chain
        return try await read { db in
            var previous = AuditChain.genesis
            var checked = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM audit ORDER BY seq")
            while let row = try cursor.next() {
                let seq: Int64 = row["seq"]
                let storedPrevious = [UInt8](row["prev_hash"] as Data)
                let storedHash = [UInt8](row["hash"] as Data)
                let canonical = AuditChain.canonicalBytes(
                    seq: seq, at: Timestamp(millisecondsSinceEpoch: row["at"]), event: row["event"],
                    referralId: row["referral_id"], agency: row["agency"], destination: row["destination"],
                    rule: row["rule"], outcome: row["outcome"], detailText: row["detail"])
                let expected = chain.hash(previous: previous, canonical: canonical)
                guard storedPrevious == previous, storedHash == expected, seq == Int64(checked + 1) else {
                    return AuditVerification(eventsChecked: checked, firstBrokenSeq: seq, headHash: Digest.hex(previous), keyed: chain.isKeyed)
                }
                previous = storedHash
                checked += 1
            }
            return AuditVerification(eventsChecked: checked, firstBrokenSeq: nil, headHash: Digest.hex(previous), keyed: chain.isKeyed)
        }
    }
}
