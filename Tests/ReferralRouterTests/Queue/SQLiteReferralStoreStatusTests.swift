import GRDB
import Testing
@testable import ReferralRouter

@Suite("SQLiteReferralStore: status and restart")
struct SQLiteReferralStoreStatusTests {
    typealias Factory = IntakeRecordFactory

    /// Two agencies, every kind of delivery state, a duplicate and a rejection.
    private func populate(_ store: SQLiteReferralStore) async throws -> [StoredReferral] {
        let results = try await store.commitIntake([
            Factory.record(agency: "school-a", referralId: "ref-a1", destinations: ["la-front-door", "health-mash"], priority: .immediate),
            Factory.record(agency: "school-a", referralId: "ref-a2", destinations: ["la-front-door"],
                           receivedAt: Factory.receivedAt.adding(.seconds(10))),
            Factory.record(agency: "school-a", referralId: "ref-a2", destinations: ["la-front-door"],
                           receivedAt: Factory.receivedAt.adding(.seconds(11))),   // duplicate content
            Factory.record(agency: "gp-b", referralId: "ref-b1", destinations: ["health-mash"], priority: .urgent,
                           receivedAt: Factory.receivedAt.adding(.seconds(20))),
            Factory.record(agency: "gp-b", referralId: "ref-b2", receipt: .rejected, receivedAt: Factory.receivedAt.adding(.seconds(30))),
        ])
        let stored = results.compactMap(\.stored)
        try #require(stored.count == 4)
        let a1 = stored[0]
        let b1 = stored[2]
        try await store.recordAttempts([
            DeliveryAttemptRecord(deliveryID: a1.deliveries[1].id, referralRowID: a1.rowID, referralId: a1.referralId, agency: "school-a",
                                  destination: "health-mash", attempt: 1, result: .delivered(status: 200, remoteReference: nil), code: "delivered",
                                  at: Factory.receivedAt.adding(.seconds(40))),
            DeliveryAttemptRecord(deliveryID: b1.deliveries[0].id, referralRowID: b1.rowID, referralId: b1.referralId, agency: "gp-b",
                                  destination: "health-mash", attempt: 1, result: .deadLettered(reason: "HTTP 400", status: 400), code: "http_400",
                                  at: Factory.receivedAt.adding(.seconds(41))),
        ])
        return stored
    }

    private func auditRowCount(_ fixture: StoreFixture) throws -> Int {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit") ?? -1 }
    }

    @Test func statusCountsReferralsReceiptsDuplicatesDestinationsAgenciesAndAudit() async throws {
        try await withTemporaryStore { fixture in
            _ = try await populate(fixture.store)
            let status = try await fixture.store.status()

            #expect(status.referrals == 4)
            #expect(status.byReceipt == ["ACCEPTED": 3, "REJECTED": 1])
            #expect(status.duplicates == 1)
            #expect(status.destinations.map(\.destination) == ["health-mash", "la-front-door"])
            let health = try #require(status.destinations.first { $0.destination == "health-mash" })
            #expect((health.pending, health.delivered, health.dead, health.pendingImmediate) == (0, 1, 1, 0))
            #expect(health.oldestPendingAt == nil)
            let front = try #require(status.destinations.first { $0.destination == "la-front-door" })
            #expect((front.pending, front.delivered, front.dead, front.pendingImmediate) == (2, 0, 0, 1))
            #expect(front.oldestPendingAt == Factory.receivedAt)
            #expect(status.pending == 2)
            #expect(status.dead == 1)
            #expect(status.agencies.map(\.agency) == ["gp-b", "school-a"])
            #expect(status.agencies.map(\.received) == [2, 2])
            #expect(status.agencies.map(\.lastReceivedAt) == [Factory.receivedAt.adding(.seconds(30)), Factory.receivedAt.adding(.seconds(10))])
            #expect(status.auditEvents == (try auditRowCount(fixture)))
            #expect(status.auditEvents > 0)
        }
    }

    @Test func anEmptyStoreReportsZeroes() async throws {
        try await withTemporaryStore { fixture in
            let status = try await fixture.store.status()
            #expect(status.referrals == 0)
            #expect(status.byReceipt.isEmpty)
            #expect(status.duplicates == 0)
            #expect(status.destinations.isEmpty)
            #expect(status.agencies.isEmpty)
            #expect(status.auditEvents == 0)
            #expect(try await fixture.store.pendingDeliveries().isEmpty)
            let verification = try await fixture.store.verifyAudit()
            #expect(verification.isIntact)
            #expect(verification.eventsChecked == 0)
        }
    }

    @Test func reopeningTheDatabaseFileSeesEverythingCommitted() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await populate(fixture.store)
            let statusBefore = try await fixture.store.status()
            let pendingBefore = try await fixture.store.pendingDeliveries()
            let headBefore = try await fixture.store.verifyAudit().headHash

            let restarted = try fixture.reopen()
            let status = try await restarted.status()
            #expect(status.referrals == statusBefore.referrals)
            #expect(status.byReceipt == statusBefore.byReceipt)
            #expect(status.duplicates == statusBefore.duplicates)
            #expect(status.auditEvents == statusBefore.auditEvents)
            #expect(status.pending == statusBefore.pending)
            #expect(status.dead == statusBefore.dead)
            #expect(try await restarted.pendingDeliveries() == pendingBefore)
            let delivery = try #require(try await restarted.loadDelivery(id: stored[1].deliveries[0].id))
            #expect(delivery.referralId == "ref-a2")
            let verification = try await restarted.verifyAudit()
            #expect(verification.isIntact)
            #expect(verification.headHash == headBefore)

            // Duplicate detection survives the restart, and the chain carries on from its head.
            let again = try await restarted.commitIntake([Factory.record(agency: "school-a", referralId: "ref-a1",
                                                                          destinations: ["la-front-door", "health-mash"], priority: .immediate)])
            #expect(again.first?.duplicateOf == "ref-a1")
            let after = try await restarted.verifyAudit()
            #expect(after.isIntact)
            #expect(after.eventsChecked == statusBefore.auditEvents + 1)
        }
    }
}

