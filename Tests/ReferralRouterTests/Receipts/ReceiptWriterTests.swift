import Foundation
import Glibc
import JSONSchema
import LinuxSystem
import Logging
import Synchronization
import Testing
import TestSupport
@testable import ReferralRouter

/// The receipts stage on a real store and real folders.
@Suite("ReceiptWriter")
struct ReceiptWriterTests {
    typealias Factory = IntakeRecordFactory

    final class FatalErrors: Sendable {
        let errors = Mutex<[String]>([])
    }

    private func writer(_ fixture: StoreFixture, enabled: Bool = true, coalesce: Duration = .zero, fatal: FatalErrors) -> ReceiptWriter {
        let agencies = [AgencyConfiguration(id: "school-a", description: "A school", inboundDirectory: fixture.directory + "/inbound/school-a",
                                            receiptsDirectory: fixture.directory + "/receipts/school-a",
                                            rejectedDirectory: fixture.directory + "/rejected/school-a")]
        return ReceiptWriter(store: fixture.store, agencies: agencies, enabled: enabled,
                             logger: Logger(label: "receipt-writer-test", factory: { _ in SwiftLogNoOpLogHandler() }),
                             retryInterval: .milliseconds(10), coalesce: coalesce,
                             onFatal: { error in fatal.errors.withLock { $0.append("\(error)") } })
    }

    private func mode(of path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o7777
    }

    private func readReceipt(_ path: String) throws -> JSONValue {
        let bytes = try #require(FileManager.default.contents(atPath: path))
        return try JSONDocument(parsing: String(decoding: bytes, as: UTF8.self)).root
    }

    @Test func aDirtyReferralGetsItsReceiptWrittenAndRewrittenAsDeliveryProgresses() async throws {
        try await withTemporaryStore { fixture in
            let fatal = FatalErrors()
            let receipts = writer(fixture, fatal: fatal)
            let stored = try #require(try await fixture.store.commitIntake([Factory.record(destinations: ["la-front-door", "health-mash"])])
                .first?.stored)
            let path = fixture.directory + "/receipts/school-a/ref-0001.json"

            receipts.markDirty([stored.rowID])
            #expect(receipts.backlog == 1)
            await receipts.flush()
            #expect(receipts.backlog == 0)
            let first = try readReceipt(path)
            #expect(first["status"] == "ACCEPTED")
            #expect(first["destinations"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["queued", "queued"])
            #expect(mode(of: path) == 0o640)
            #expect(mode(of: fixture.directory + "/receipts/school-a") == 0o750)

            try await fixture.store.recordAttempts([
                DeliveryAttemptRecord(deliveryID: stored.deliveries[0].id, referralRowID: stored.rowID, referralId: "ref-0001",
                                      agency: "school-a", destination: "la-front-door", attempt: 1,
                                      result: .delivered(status: 200, remoteReference: nil), code: "delivered", at: Factory.receivedAt.adding(.seconds(1))),
            ])
            receipts.markDirty([stored.rowID])
            await receipts.flush()
            let second = try readReceipt(path)
            #expect(second["destinations"]?.arrayValue?.compactMap { $0["status"]?.stringValue } == ["delivered", "queued"])
            #expect(second["message"] == "Accepted. Delivered to 1 of 2 partners so far; the rest are queued and will be retried until delivered.")
            #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/receipts/school-a") == ["ref-0001.json"])
            #expect(fatal.errors.withLock { $0.isEmpty })
        }
    }

    /// Each receipt waits `coalesce` from its own referral's first change, not from whichever change
    /// woke the writer: a referral that arrives while another's receipt is pending, and is delivered
    /// within its own window, is written once, already delivered.
    @Test func eachReceiptWaitsItsOwnCoalescingWindow() async throws {
        try await withTemporaryStore { fixture in
            let fatal = FatalErrors()
            let receipts = writer(fixture, coalesce: .seconds(1), fatal: fatal)
            let running = Task { try await receipts.run() }
            let first = try #require(try await fixture.store.commitIntake([Factory.record(referralId: "ref-first")]).first?.stored)
            receipts.markDirty([first.rowID])
            let started = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(600))
            let second = try #require(try await fixture.store.commitIntake([Factory.record(referralId: "ref-second")]).first?.stored)
            receipts.markDirty([second.rowID])
            let secondMarked = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(200))
            try await fixture.store.recordAttempts([
                DeliveryAttemptRecord(deliveryID: second.deliveries[0].id, referralRowID: second.rowID, referralId: "ref-second",
                                      agency: "school-a", destination: "la-front-door", attempt: 1,
                                      result: .delivered(status: 202, remoteReference: nil), at: .now()),
            ])
            receipts.markDirty([second.rowID])
            let deliveredAt = ContinuousClock.now

            let folder = fixture.directory + "/receipts/school-a"
            let firstWritten = await waitUntil(timeout: .seconds(10), interval: .milliseconds(5)) {
                FileManager.default.fileExists(atPath: folder + "/ref-first.json")
            }
            #expect(firstWritten)
            #expect(ContinuousClock.now - started >= .milliseconds(1000), "written before its window ended")
            // The first referral's receipt is out; the second's window is still open, unless this
            // machine was too slow to tell (then there is nothing to check here).
            if deliveredAt - secondMarked < .milliseconds(900), ContinuousClock.now - secondMarked < .milliseconds(900) {
                #expect(!FileManager.default.fileExists(atPath: folder + "/ref-second.json"),
                        "the second receipt went out with the first, before its own window ended")
            }
            let secondWritten = await waitUntil(timeout: .seconds(10), interval: .milliseconds(5)) {
                FileManager.default.fileExists(atPath: folder + "/ref-second.json")
            }
            #expect(secondWritten)
            #expect(try readReceipt(folder + "/ref-second.json")["destinations"]?.arrayValue?.first?["status"]?.stringValue == "delivered")
            running.cancel()
            receipts.markDirty([first.rowID])   // wakes a loop that waits without a timeout
            _ = try await withinDeadline(seconds: 15) { try await running.value }
            #expect(fatal.errors.withLock { $0 }.isEmpty)
        }
    }

    @Test func markingTheSameReferralTwiceWritesItOnce() async throws {
        try await withTemporaryStore { fixture in
            let receipts = writer(fixture, fatal: FatalErrors())
            let stored = try #require(try await fixture.store.commitIntake([Factory.record()]).first?.stored)
            receipts.markDirty([stored.rowID, stored.rowID])
            receipts.markDirty([stored.rowID])
            #expect(receipts.backlog == 1)
            await receipts.flush()
            #expect(receipts.backlog == 0)
        }
    }

    @Test func aDisabledWriterWritesNothing() async throws {
        try await withTemporaryStore { fixture in
            let receipts = writer(fixture, enabled: false, fatal: FatalErrors())
            let stored = try #require(try await fixture.store.commitIntake([Factory.record()]).first?.stored)
            receipts.markDirty([stored.rowID])
            #expect(receipts.backlog == 0)
            await receipts.flush()
            #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/receipts"))
        }
    }

    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .acquiring) }
        func set() { value.store(true, ordering: .releasing) }
    }

    /// A writer whose receipts folder cannot be made: a regular file sits where its parent should be
    /// (root ignores permission bits, so a mode would not stop it). Removing `blocker` repairs it.
    private func brokenWriter(_ fixture: StoreFixture) -> (writer: ReceiptWriter, blocker: String, receipt: String) {
        let blocker = fixture.directory + "/receipts"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("not a folder".utf8))
        let agencies = [AgencyConfiguration(id: "school-a", description: "A school", inboundDirectory: fixture.directory + "/inbound",
                                            receiptsDirectory: blocker + "/school-a", rejectedDirectory: fixture.directory + "/rejected")]
        let writer = ReceiptWriter(store: fixture.store, agencies: agencies, enabled: true,
                                   logger: Logger(label: "receipt-writer-test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                   retryInterval: .milliseconds(10), onFatal: { _ in })
        return (writer, blocker, blocker + "/school-a/ref-0001.json")
    }

    /// One agency's broken receipts folder must not hold the receipts stage (and so shutdown) in
    /// `flush` for as long as it stays broken.
    @Test func aReceiptThatKeepsFailingDoesNotHoldFlushForever() async throws {
        try await withTemporaryStore { fixture in
            let (receipts, blocker, receipt) = brokenWriter(fixture)
            let stored = try #require(try await fixture.store.commitIntake([Factory.record()]).first?.stored)
            receipts.markDirty([stored.rowID])

            let finished = Flag()
            let flushing = Task {
                await receipts.flush()
                finished.set()
            }
            let returned = await waitUntil(timeout: .milliseconds(5_000), interval: .milliseconds(5)) { finished.isSet }
            #expect(returned, "flush was still retrying an unwritable receipt after 5 s")
            // Repair the folder so a flush still looping ends and no task is left behind.
            try FileManager.default.removeItem(atPath: blocker)
            try await withinDeadline(seconds: 15) { await flushing.value }
            if returned { await receipts.flush() }
            #expect(FileManager.default.fileExists(atPath: receipt))
        }
    }

    /// While a folder is broken the receipt is kept, and it is written once the folder is repaired,
    /// without waiting for another referral to arrive.
    @Test func aFailedReceiptIsWrittenOnceItsFolderIsRepaired() async throws {
        try await withTemporaryStore { fixture in
            let (receipts, blocker, receipt) = brokenWriter(fixture)
            let stored = try #require(try await fixture.store.commitIntake([Factory.record()]).first?.stored)
            let running = Task { try await receipts.run() }
            receipts.markDirty([stored.rowID])
            try? await Task.sleep(for: .milliseconds(50))
            #expect(!FileManager.default.fileExists(atPath: receipt))

            try FileManager.default.removeItem(atPath: blocker)
            let written = await waitUntil(timeout: .milliseconds(10_000), interval: .milliseconds(5)) { FileManager.default.fileExists(atPath: receipt) }
            #expect(written)

            running.cancel()
            receipts.markDirty([stored.rowID])   // wakes a loop that waits without a timeout
            _ = try await withinDeadline(seconds: 15) { try await running.value }
        }
    }

    @Test func aReferralOfAnUnconfiguredAgencyOrAnUnknownRowIsSkipped() async throws {
        try await withTemporaryStore { fixture in
            let fatal = FatalErrors()
            let receipts = writer(fixture, fatal: fatal)
            let stored = try #require(try await fixture.store.commitIntake([Factory.record(agency: "gone-agency")]).first?.stored)
            receipts.markDirty([stored.rowID, 987_654])
            try await withinDeadline { await receipts.flush() }
            #expect(receipts.backlog == 0)
            #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/receipts"))
            #expect(fatal.errors.withLock { $0.isEmpty })
        }
    }
}
