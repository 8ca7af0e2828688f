import Foundation
import Glibc
import GRDB
import Testing
import TestSupport
@testable import ReferralRouter

@Suite("SQLiteReferralStore: file mode, WAL and synchronous=FULL")
struct SQLiteReferralStoreDurabilityTests {
    private func permissions(of path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o7777
    }

    @Test func theDatabaseFileIsCreatedReadableByItsOwnerOnly() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([IntakeRecordFactory.record()])
            #expect(permissions(of: fixture.path) == 0o600)
        }
    }

    /// The write-ahead log holds freshly committed referrals (documents included) until a checkpoint,
    /// so it needs the same protection as the database, whatever the creating process's umask.
    @Test func theWriteAheadLogAndSharedMemoryFilesAreOwnerOnlyToo() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([IntakeRecordFactory.record()])
            let wal = try #require(permissions(of: fixture.path + "-wal"))
            let shm = try #require(permissions(of: fixture.path + "-shm"))
            #expect(wal & 0o077 == 0, "-wal is \(String(wal, radix: 8))")
            #expect(shm & 0o077 == 0, "-shm is \(String(shm, radix: 8))")
        }
    }

    @Test func anExistingDatabaseFileKeepsItsMode() async throws {
        try await withTemporaryStore { fixture in
            // An operator who chose to share the file with a group keeps that choice across restarts.
            #expect(chmod(fixture.path, 0o640) == 0)
            _ = try fixture.reopen()
            #expect(permissions(of: fixture.path) == 0o640)
        }
    }

    @Test func theJournalIsWriteAheadAsSeenByAnotherConnection() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([IntakeRecordFactory.record()])
            let connection = try fixture.rawConnection()
            defer { try? connection.close() }
            let mode = try await connection.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            #expect(mode == "wal")
        }
    }

    /// Commits happen on the pool's single writer connection; synchronous is per connection, so that
    /// is the one that must say 2 (FULL): a commit is on disk before intake deletes a source file.
    @Test func theConnectionThatCommitsSyncsFully() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([IntakeRecordFactory.record()])
            let writer = try await fixture.store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
            #expect(writer == 2)
            let restarted = try fixture.reopen()
            #expect(try await restarted.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
        }
    }

    /// The page caches are as configured: the writer's and each reader's (the daemon's
    /// `writer_cache_kib` and `reader_cache_kib`).
    @Test func theWriterAndReaderCachesAreSizedAsConfigured() async throws {
        try await withTemporaryStore { fixture in
            let defaults = try fixture.reopen()
            #expect(try await defaults.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -1024)
            #expect(try await defaults.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -1024)
            let sized = try SQLiteReferralStore(path: fixture.path, auditKey: nil, writerCacheKiB: 4096, readerCacheKiB: 256)
            #expect(try await sized.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -4096)
            #expect(try await sized.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA cache_size") } == -256)
        }
    }

    /// A savepoint makes SQLite copy each page it changes (referral data) to a sub-journal first, and
    /// temporary tables hold rows too. Both stay in memory, never in SQLite's temporary directory
    /// (/var/tmp), outside the state directory.
    @Test func pagesCopiedForASavepointOrATemporaryTableStayInMemory() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake((0..<40).map { IntakeRecordFactory.record(referralId: "ref-\($0)") })
            // About 800 KB of existing pages to change: far past the 64 KB a sub-journal keeps in memory
            // before SQLite would spill it to a file.
            try await fixture.execute("UPDATE referral SET document = zeroblob(20000)")
            let temporaryFiles = try await fixture.store.pool.write { db -> [String] in
                var open: [String] = []
                try db.inSavepoint {
                    try db.execute(sql: "UPDATE referral SET document = randomblob(20000)")
                    try db.execute(sql: "CREATE TEMP TABLE scratch AS SELECT document FROM referral ORDER BY random()")
                    open = Self.openSQLiteTemporaryFiles()
                    return .rollback
                }
                try db.execute(sql: "DROP TABLE IF EXISTS temp.scratch")
                return open
            }
            #expect(temporaryFiles.isEmpty)
        }
    }

    /// This process's open files that SQLite created as temporary files (named `etilqs_…`, deleted).
    private static func openSQLiteTemporaryFiles() -> [String] {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
            .filter { $0.contains("etilqs") }
    }

    @Test func theSchemaRefusesWhatTheCodeShouldNeverDo() async throws {
        try await withTemporaryStore { fixture in
            let stored = try #require(try await fixture.store.commitIntake([IntakeRecordFactory.record()]).first?.stored)
            // An unknown delivery state and a second delivery to the same destination are refused by SQLite itself.
            await #expect(throws: DatabaseError.self) {
                try await fixture.execute("UPDATE delivery SET state = 'lost' WHERE id = ?", [stored.deliveries[0].id])
            }
            await #expect(throws: DatabaseError.self) {
                try await fixture.execute("""
                    INSERT INTO delivery (referral, destination, partner_type, rule, basis, priority, format, content_type,
                                          idempotency_key, state, next_attempt_at, created_at)
                    SELECT referral, destination, partner_type, rule, basis, priority, format, content_type,
                           idempotency_key || '-2', 'pending', next_attempt_at, created_at FROM delivery
                    """)
            }
        }
    }

    @Test func aFileThatIsNotADatabaseIsAFatalIOError() throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "router-store")
        defer { TestPaths.removeDirectory(directory) }
        let path = directory + "/queue.sqlite"
        let junk = Array(repeating: UInt8(ascii: "x"), count: 8192)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(junk)))
        do {
            _ = try SQLiteReferralStore(path: path, auditKey: nil)
            Issue.record("a file of junk opened as a database")
        } catch {
            #expect(error.code == "fatal_io")
            #expect(!error.isTransient)
        }
    }
}
