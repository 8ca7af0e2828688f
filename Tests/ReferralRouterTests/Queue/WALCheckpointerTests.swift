import Foundation
import GRDB
import Logging
import Testing
import TestSupport
@testable import ReferralRouter

@Suite("WALCheckpointer")
struct WALCheckpointerTests {
    typealias Factory = IntakeRecordFactory

    private let logger = Logger(label: "wal-checkpointer-test", factory: { _ in SwiftLogNoOpLogHandler() })

    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.intValue ?? -1
    }

    private func writerAutocheckpoint(_ store: SQLiteReferralStore) async throws -> Int? {
        try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
    }

    /// The daemon's writer leaves checkpoints to the checkpointer (keeping a backstop); a store
    /// opened by the CLI or alone keeps SQLite's own.
    @Test func theWriterKeepsOnlyABackstopWhenCheckpointsRunElsewhere() async throws {
        try await withTemporaryStore { fixture in
            #expect(try await writerAutocheckpoint(fixture.store) == 1000)
            let daemonStore = try SQLiteReferralStore(path: fixture.path, auditKey: nil, checkpointsElsewhere: true)
            #expect(try await writerAutocheckpoint(daemonStore) == WALCheckpointer.writerBackstopPages)
        }
    }

    /// Commits land in the WAL; the running checkpointer copies them into the database file by itself
    /// (the file grows) without anyone asking, and a final checkpoint leaves nothing behind.
    @Test func commitsAreCopiedIntoTheDatabaseWithoutTheWriter() async throws {
        try await withTemporaryStore { fixture in
            let store = try SQLiteReferralStore(path: fixture.path, auditKey: nil, checkpointsElsewhere: true)
            let checkpointer = try WALCheckpointer(store: store, interval: .milliseconds(20), logger: logger)
            // Everything so far (migrations) in the file, so the growth below is from the new commits.
            _ = await checkpointer.checkpoint()
            let before = fileSize(fixture.path)

            for batch in 0..<4 {
                let records = (0..<50).map { Factory.record(referralId: "ref-\(batch)-\($0)") }
                _ = try await store.commitIntake(records)
            }
            // 200 referrals: all still in the WAL (far below the writer's backstop).
            #expect(fileSize(fixture.path) == before)

            let running = Task { try await checkpointer.run() }
            let grew = await waitUntil(timeout: .seconds(10)) { fileSize(fixture.path) > before }
            #expect(grew, "the database file did not grow: the WAL was not checkpointed")
            running.cancel()
            _ = try await withinDeadline(seconds: 10) { try await running.value }

            let last = try #require(await checkpointer.checkpoint())
            #expect(last.walFrames == last.checkpointed, "frames left in the WAL after a checkpoint with no writer")
            // What the checkpointer copied is what was committed.
            let reopened = try fixture.reopen()
            #expect(try await reopened.status().referrals == 200)
        }
    }
}
