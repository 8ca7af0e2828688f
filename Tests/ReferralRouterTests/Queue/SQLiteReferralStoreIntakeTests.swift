import Foundation
import GRDB
import Synchronization
import Testing
@testable import ReferralRouter

@Suite("SQLiteReferralStore: committing intake")
struct SQLiteReferralStoreIntakeTests {
    typealias Factory = IntakeRecordFactory

    private func count(_ fixture: StoreFixture, _ sql: String, _ arguments: StatementArguments = StatementArguments()) throws -> Int {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? -1 }
    }

    private func auditEvents(_ fixture: StoreFixture) throws -> [String] {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in try String.fetchAll(db, sql: "SELECT event FROM audit ORDER BY seq") }
    }

    @Test func storesTheReferralOneDeliveryPerDestinationAndItsAuditEvents() async throws {
        try await withTemporaryStore { fixture in
            let record = Factory.record(destinations: ["la-front-door", "health-mash"], priority: .urgent)
            let results = try await fixture.store.commitIntake([record])

            let stored = try #require(results.first?.stored)
            #expect(results.count == 1)
            #expect(stored.referralId == "ref-0001")
            #expect(stored.receiptName == "ref-0001.json")
            #expect(stored.receipt == .accepted)
            #expect(stored.deliveries.map(\.destination) == ["la-front-door", "health-mash"])
            #expect(stored.deliveries.allSatisfy { $0.priority == .urgent && $0.attempts == 0 && $0.acceptedAt == Factory.receivedAt })
            #expect(Set(stored.deliveries.map(\.id)).count == 2)

            #expect(try count(fixture, "SELECT COUNT(*) FROM referral") == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery WHERE referral = ? AND state = 'pending' AND attempts = 0",
                              [stored.rowID]) == 2)
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral WHERE document = ?", [Data(record.document)]) == 1)
            for planned in record.decision.deliveries {
                #expect(try count(fixture, """
                    SELECT COUNT(*) FROM delivery d JOIN delivery_payload p ON p.delivery = d.id
                    WHERE d.destination = ? AND p.payload = ? AND d.idempotency_key = ?
                    """,
                                  [planned.destination, Data(planned.payload), planned.idempotencyKey]) == 1)
            }
            // One event for the decision (with why the other partner types were not sent to), then
            // one per delivery queued.
            #expect(try auditEvents(fixture) == ["received", "routed", "routed"])
            // Each is found by the referral's row (the indexed look-up column).
            #expect(try count(fixture, "SELECT COUNT(*) FROM audit WHERE referral = ?", [stored.rowID]) == 3)
            #expect(try count(fixture, """
                SELECT COUNT(*) FROM audit WHERE event = 'received' AND detail LIKE '%"notSent"%' AND detail LIKE '%"police"%'
                """) == 1)
        }
    }

    /// Counts the transactions the store's writer commits, and the rows each table gains.
    final class CommitCounter: TransactionObserver, Sendable {
        private let state = Mutex<(commits: Int, rollbacks: Int, inserts: [String: Int])>((0, 0, [:]))
        var commits: Int { state.withLock { $0.commits } }
        var rollbacks: Int { state.withLock { $0.rollbacks } }
        func inserts(into table: String) -> Int { state.withLock { $0.inserts[table] ?? 0 } }

        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { true }
        func databaseDidChange(with event: DatabaseEvent) {
            guard event.kind == .insert else { return }
            let table = event.tableName
            state.withLock { $0.inserts[table, default: 0] += 1 }
        }
        func databaseDidCommit(_ db: Database) { state.withLock { $0.commits += 1 } }
        func databaseDidRollback(_ db: Database) { state.withLock { $0.rollbacks += 1 } }
    }

    @Test func aBatchIsCommittedInOneTransactionWithItsDeliveriesAndAudit() async throws {
        try await withTemporaryStore { fixture in
            let counter = CommitCounter()
            try await fixture.store.pool.writeWithoutTransaction { db in db.add(transactionObserver: counter, extent: .observerLifetime) }
            let results = try await fixture.store.commitIntake([
                Factory.record(referralId: "ref-a", destinations: ["la-front-door", "health-mash"]),
                Factory.record(referralId: "ref-b"),
                Factory.record(referralId: "ref-c", receipt: .rejected),
            ])
            #expect(results.compactMap(\.stored).count == 3)
            #expect(counter.commits == 1)
            #expect(counter.rollbacks == 0)
            #expect(counter.inserts(into: "referral") == 3)
            #expect(counter.inserts(into: "delivery") == 3)
            // ref-a: received and 2 routed; ref-b: received and routed; ref-c: rejected.
            #expect(counter.inserts(into: "audit") == 6)
        }
    }

    @Test func aRecordTheDatabaseRefusesIsStoredAsRejectedAndTheRestOfTheBatchGoesOn() async throws {
        try await withTemporaryStore { fixture in
            let good = Factory.record(referralId: "ref-good")
            // Two deliveries to one destination break UNIQUE (referral, destination): the database refuses it.
            var bad = Factory.record(referralId: "ref-bad")
            bad.decision.deliveries += bad.decision.deliveries.map {
                var copy = $0
                copy.idempotencyKey += "-again"
                return copy
            }
            let after = Factory.record(referralId: "ref-after")

            let results = try await fixture.store.commitIntake([good, bad, after])
            #expect(results[0].stored?.receipt == .accepted)
            #expect(results[2].stored?.receipt == .accepted)
            let refused = try #require(results[1].stored)
            #expect(refused.receipt == .rejected)
            #expect(refused.deliveries.isEmpty)
            // Nothing of the refused attempt is left half-written: no delivery row, and the chain is whole.
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery WHERE referral = ?", [refused.rowID]) == 0)
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery") == 2)
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral") == 3)
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: refused.rowID))
            #expect(snapshot.receipt == .rejected)
            #expect(!snapshot.reasons.isEmpty)
            // Its audit tells what was stored (rejected), not what was rendered before the refusal.
            let connection = try fixture.rawConnection()
            defer { try? connection.close() }
            let events = try await connection.read { db in
                try String.fetchAll(db, sql: "SELECT event FROM audit WHERE referral = ? ORDER BY seq", arguments: [refused.rowID])
            }
            #expect(events == ["rejected"])
            #expect(try await fixture.store.verifyAudit().isIntact)
        }
    }

    @Test func duplicateContentFromTheSameAgencyIsRecordedNotQueued() async throws {
        try await withTemporaryStore { fixture in
            let first = try await fixture.store.commitIntake([Factory.record()])
            #expect(first.first?.stored != nil)

            var again = Factory.record()
            again.source = .folder(name: "ref-0001 (copy).json")
            again.receivedAt = Factory.receivedAt.adding(.seconds(60))
            let second = try await fixture.store.commitIntake([again])

            #expect(second.first?.duplicateOf == "ref-0001")
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral") == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery") == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM duplicate WHERE source_name = 'ref-0001 (copy).json'") == 1)
            #expect(try auditEvents(fixture).last == "duplicate")
            #expect(try await fixture.store.status().duplicates == 1)
        }
    }

    @Test func duplicateContentWithinOneBatchIsRecognised() async throws {
        try await withTemporaryStore { fixture in
            let results = try await fixture.store.commitIntake([Factory.record(), Factory.record(), Factory.record(referralId: "ref-0002")])
            #expect(results.count == 3)
            #expect(results[0].stored != nil)
            #expect(results[1].duplicateOf == "ref-0001")
            #expect(results[2].stored?.referralId == "ref-0002")
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery") == 2)
        }
    }

    @Test func theSameContentFromAnotherAgencyIsNotADuplicate() async throws {
        try await withTemporaryStore { fixture in
            // Without a usable referralId the id comes from the content, as ReferralPreparer makes it.
            let bytes = Array(#"{"child":{"name":"Zebedee Quillfeather"},"priority":"routine"}"#.utf8)
            let results = try await fixture.store.commitIntake([
                Factory.unidentified(agency: "school-a", document: bytes, receipt: .returned, destinations: []),
                Factory.unidentified(agency: "gp-b", document: bytes, receipt: .returned, destinations: []),
            ])
            #expect(results[0].stored != nil)
            #expect(results[1].stored != nil)
            #expect(try count(fixture, "SELECT COUNT(*) FROM duplicate") == 0)
            #expect(try count(fixture, "SELECT COUNT(DISTINCT agency) FROM referral") == 2)
        }
    }

    /// The same bytes without a referralId from two agencies get the same content-derived referralId
    /// and so the same idempotency key for the safety-net destination.
    @Test func theSameSafetyNetReferralFromTwoAgenciesIsQueuedForBoth() async throws {
        try await withTemporaryStore { fixture in
            let bytes = Array(#"{"child":{"name":"Zebedee Quillfeather"},"priority":"immediate"}"#.utf8)
            let first = try await fixture.store.commitIntake([Factory.unidentified(agency: "school-a", document: bytes)])
            #expect(first.first?.stored?.deliveries.count == 1)

            let second: [IntakeCommitResult]
            do {
                second = try await fixture.store.commitIntake([Factory.unidentified(agency: "gp-b", document: bytes)])
            } catch {
                Issue.record("an immediate referral from a second agency could not be committed: \(error)")
                return
            }
            #expect(second.first?.stored?.deliveries.count == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery WHERE state = 'pending'") == 2)
        }
    }

    @Test func aSecondDocumentReusingAnAcceptedReferralIdIsStoredAsRejectedWithAReason() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([Factory.record()])
            let other = Factory.record(document: Factory.document(referralId: "ref-0001", variant: 1))
            let results = try await fixture.store.commitIntake([other])

            let conflicting = try #require(results.first?.conflicting)
            #expect(results.first?.conflictIssue?.pointer == "/referralId")
            #expect(results.first?.conflictIssue?.keyword == "uniqueReferralId")
            #expect(conflicting.receipt == .rejected)
            #expect(conflicting.deliveries.isEmpty)
            #expect(conflicting.referralId == "ref-0001")
            #expect(conflicting.receiptName != "ref-0001.json")
            #expect(conflicting.receiptName.hasPrefix("ref-0001-"))
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral WHERE id = ? AND receipt_code = 'REJECTED'", [conflicting.rowID]) == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery") == 1)

            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: conflicting.rowID))
            #expect(snapshot.receipt == .rejected)
            #expect(snapshot.reasons.count == 1)
            #expect(snapshot.reasons.first?.contains("referralId ref-0001 was already accepted at 2025-11-25T17:00:00.000Z") == true)
            #expect(snapshot.issues.contains { $0.pointer == "/referralId" && $0.keyword == "uniqueReferralId" })
            #expect(try auditEvents(fixture).last == "rejected")
        }
    }

    @Test func aReferralIdIsUniqueAcrossAgenciesButReceiptNamesArePerAgency() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([Factory.record(agency: "school-a")])
            let other = Factory.record(agency: "gp-b", document: Factory.document(referralId: "ref-0001", variant: 2))
            let results = try await fixture.store.commitIntake([other])
            let conflicting = try #require(results.first?.conflicting)
            #expect(conflicting.receipt == .rejected)
            // gp-b has no receipt of that name yet.
            #expect(conflicting.receiptName == "ref-0001.json")
        }
    }

    @Test func theSameIdentifiedReferralFromAnotherAgencyIsADuplicateNotQueuedTwice() async throws {
        try await withTemporaryStore { fixture in
            let first = try await fixture.store.commitIntake([Factory.record(agency: "school-a")])
            #expect(first.first?.stored != nil)
            let second = try await fixture.store.commitIntake([Factory.record(agency: "gp-b")])
            #expect(second.first?.duplicateOf == "ref-0001")
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral") == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM delivery") == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM duplicate WHERE agency = 'gp-b'") == 1)
        }
    }

    @Test func aRejectedReferralsIdCanBeUsedByItsCorrectedVersion() async throws {
        try await withTemporaryStore { fixture in
            let rejected = Factory.record(document: Factory.document(referralId: "ref-0001", variant: 0), receipt: .rejected,
                                          reasons: ["/child/dateOfBirth is required"])
            let corrected = Factory.record(document: Factory.document(referralId: "ref-0001", variant: 1))
            let results = try await fixture.store.commitIntake([rejected])
            #expect(results.first?.stored?.receipt == .rejected)
            let second = try await fixture.store.commitIntake([corrected])
            let stored = try #require(second.first?.stored)
            #expect(stored.receipt == .accepted)
            #expect(stored.deliveries.count == 1)
            // The corrected version takes over the receipt the agency watches; the rejected one is renamed.
            #expect(stored.receiptName == "ref-0001.json")
            let earlier = try #require(results.first?.stored)
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral WHERE id = ? AND receipt_name = ?",
                              [earlier.rowID, "ref-0001-superseded-\(earlier.rowID).json"]) == 1)
        }
    }

    @Test func resendingTheExactBytesOfARejectedReferralStoresItAgain() async throws {
        try await withTemporaryStore { fixture in
            let first = try await fixture.store.commitIntake([Factory.record(receipt: .rejected)])
            // Sent again unchanged after the configuration was fixed: now accepted.
            let second = try await fixture.store.commitIntake([Factory.record()])

            let original = try #require(first.first?.stored)
            let resent = try #require(second.first?.stored)
            #expect(resent.receipt == .accepted)
            #expect(resent.rowID != original.rowID)
            #expect(resent.receiptName == "ref-0001.json", "the newest version holds <id>.json")
            #expect(try count(fixture, "SELECT COUNT(DISTINCT receipt_name) FROM referral") == 2)
            #expect(resent.deliveries.count == 1)
            #expect(try count(fixture, "SELECT COUNT(*) FROM duplicate") == 0)
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral") == 2)
        }
    }

    @Test func receiptNamesAreUniquePerAgencyAcrossRepeatedResends() async throws {
        try await withTemporaryStore { fixture in
            var rows: [Int64] = []
            for _ in 0..<4 {
                let results = try await fixture.store.commitIntake([Factory.record(receipt: .rejected)])
                let stored = try #require(results.first?.stored)
                #expect(stored.receiptName == "ref-0001.json", "each resend holds <id>.json")
                rows.append(stored.rowID)
            }
            #expect(try count(fixture, "SELECT COUNT(DISTINCT receipt_name) FROM referral") == 4)
            for row in rows.dropLast() {
                #expect(try count(fixture, "SELECT COUNT(*) FROM referral WHERE id = ? AND receipt_name = ?",
                                  [row, "ref-0001-superseded-\(row).json"]) == 1)
            }
        }
    }

    /// A referralId that looks like another's fallback receipt name never collides with it.
    @Test func receiptNamesStayUniqueWhenAnotherReferralIdLooksLikeAFallbackName() async throws {
        try await withTemporaryStore { fixture in
            _ = try await fixture.store.commitIntake([Factory.record(receipt: .rejected)])
            _ = try await fixture.store.commitIntake([Factory.record(receipt: .rejected)])
            for row in 1...3 {
                let lookalike = "ref-0001-superseded-\(row)"
                let stored = try #require(try await fixture.store.commitIntake([Factory.record(referralId: lookalike)]).first?.stored)
                #expect(stored.receiptName.hasPrefix(lookalike))
            }
            let results = try await fixture.store.commitIntake([Factory.record()])
            let stored = try #require(results.first?.stored)
            #expect(stored.receipt == .accepted)
            #expect(stored.deliveries.count == 1)
            // The rejected copy's superseded name is taken by a lookalike: it keeps <id>.json and the new
            // version gets a fallback name rather than a collision.
            #expect(stored.receiptName.hasPrefix("ref-0001-"))
            #expect(try count(fixture, "SELECT COUNT(DISTINCT receipt_name) FROM referral") == 6)
        }
    }

    @Test func aMESHMessageIsStoredUnderItsMessageID() async throws {
        try await withTemporaryStore { fixture in
            let record = Factory.record(source: .mesh(messageID: "20251125170000123456_ABCDEF", from: "X26OT001", workflowID: "CSC_REFERRAL"))
            let results = try await fixture.store.commitIntake([record])
            let stored = try #require(results.first?.stored)
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: stored.rowID))
            #expect(snapshot.sourceName == "20251125170000123456_ABCDEF")
            #expect(try count(fixture, "SELECT COUNT(*) FROM referral WHERE source_kind = 'mesh' AND source_detail LIKE '%CSC_REFERRAL%'") == 1)
        }
    }
}
