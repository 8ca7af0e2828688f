import GRDB
import Testing
@testable import ReferralRouter

@Suite("SQLiteReferralStore: pending deliveries and attempts")
struct SQLiteReferralStoreDeliveryTests {
    typealias Factory = IntakeRecordFactory

    private let later = Factory.receivedAt.adding(.seconds(5))

    /// Commits one accepted referral and returns it.
    private func commit(_ store: SQLiteReferralStore, referralId: String = "ref-0001", destinations: [String] = ["la-front-door"],
                        priority: DeliveryPriority = .routine) async throws -> StoredReferral {
        let results = try await store.commitIntake([Factory.record(referralId: referralId, destinations: destinations, priority: priority)])
        return try #require(results.first?.stored)
    }

    private func attempt(_ stored: StoredReferral, _ delivery: ScheduledDelivery, number: Int,
                         _ result: DeliveryAttemptRecord.Result, at: Timestamp? = nil) -> DeliveryAttemptRecord {
        DeliveryAttemptRecord(deliveryID: delivery.id, referralRowID: stored.rowID, referralId: stored.referralId, agency: "school-a",
                              destination: delivery.destination, attempt: number, result: result, code: result.typicalCode, at: at ?? later)
    }

    private struct DeliveryRow: Equatable {
        var state: String
        var attempts: Int
        var lastError: String?
        var lastStatus: Int?
        var deliveredAt: Int64?
        var nextAttemptAt: Int64
        var remoteReference: String?
    }

    private func row(_ fixture: StoreFixture, _ id: Int64) throws -> DeliveryRow? {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM delivery WHERE id = ?", arguments: [id]).map {
                DeliveryRow(state: $0["state"], attempts: $0["attempts"], lastError: $0["last_error"], lastStatus: $0["last_status"],
                            deliveredAt: $0["delivered_at"], nextAttemptAt: $0["next_attempt_at"], remoteReference: $0["remote_reference"])
            }
        }
    }

    @Test func pendingDeliveriesReturnsOnlyPendingOnesByPriorityThenArrival() async throws {
        try await withTemporaryStore { fixture in
            let routine = try await commit(fixture.store, referralId: "ref-routine", destinations: ["la-front-door", "school-nurse"])
            let immediate = try await commit(fixture.store, referralId: "ref-immediate", priority: .immediate)
            let urgent = try await commit(fixture.store, referralId: "ref-urgent", priority: .urgent)
            let done = try await commit(fixture.store, referralId: "ref-done", priority: .immediate)
            let dead = try await commit(fixture.store, referralId: "ref-dead", priority: .urgent)
            try await fixture.store.recordAttempts([
                attempt(done, done.deliveries[0], number: 1, .delivered(status: 200, remoteReference: nil)),
                attempt(dead, dead.deliveries[0], number: 1, .deadLettered(reason: "Partner refused the referral with HTTP 422", status: 422)),
            ])

            let pending = try await fixture.store.pendingDeliveries()
            #expect(pending.map(\.id) == [immediate.deliveries[0].id, urgent.deliveries[0].id] + routine.deliveries.map(\.id))
            #expect(pending.map(\.priority) == [.immediate, .urgent, .routine, .routine])
            #expect(pending.map(\.destination) == ["la-front-door", "la-front-door", "la-front-door", "school-nurse"])
            #expect(pending.allSatisfy { $0.attempts == 0 && $0.acceptedAt == Factory.receivedAt && $0.nextAttemptAt == Factory.receivedAt })
        }
    }

    @Test func loadDeliveryReturnsThePlannedBytesAndIdentity() async throws {
        try await withTemporaryStore { fixture in
            let record = Factory.record(priority: .urgent)
            let stored = try #require(try await fixture.store.commitIntake([record]).first?.stored)
            let delivery = try #require(try await fixture.store.loadDelivery(id: stored.deliveries[0].id))
            let planned = record.decision.deliveries[0]
            #expect(delivery.payload == planned.payload)
            #expect(delivery.idempotencyKey == planned.idempotencyKey)
            #expect(delivery.contentType == "application/json")
            #expect(delivery.referralId == "ref-0001")
            #expect(delivery.referralRowID == stored.rowID)
            #expect(delivery.agency == "school-a")
            #expect(delivery.destination == "la-front-door")
            #expect(delivery.rule == "r1-significant-harm")
            #expect(delivery.priority == .urgent)
            #expect(delivery.attempts == 0)
            #expect(delivery.acceptedAt == Factory.receivedAt)
            #expect(delivery.remoteReference == nil)
            #expect(try await fixture.store.loadDelivery(id: 999_999) == nil)
        }
    }

    @Test func loadDeliveryReturnsNilOnceDeliveredOrDeadLettered() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store, destinations: ["la-front-door", "health-mash"])
            try await fixture.store.recordAttempts([
                attempt(stored, stored.deliveries[0], number: 1, .delivered(status: 202, remoteReference: nil)),
                attempt(stored, stored.deliveries[1], number: 1, .deadLettered(reason: "Partner refused the referral with HTTP 400", status: 400)),
            ])
            #expect(try await fixture.store.loadDelivery(id: stored.deliveries[0].id) == nil)
            #expect(try await fixture.store.loadDelivery(id: stored.deliveries[1].id) == nil)
        }
    }

    /// Delivery loads are grouped into one read: each id gets its own result, in order, and one
    /// unreadable record does not spoil the others.
    @Test func loadDeliveriesAnswersEachIdInOrderAndSetsAsideOnlyTheCorruptOne() async throws {
        try await withTemporaryStore { fixture in
            let first = try await commit(fixture.store, referralId: "ref-a")
            let second = try await commit(fixture.store, referralId: "ref-b", destinations: ["la-front-door", "health-mash"])
            try await fixture.store.recordAttempts([
                attempt(second, second.deliveries[0], number: 1, .delivered(status: 202, remoteReference: nil)),
            ])
            let corrupt = second.deliveries[1].id
            let connection = try fixture.rawConnection()
            try await connection.write { db in try db.execute(sql: "DELETE FROM delivery_payload WHERE delivery = ?", arguments: [corrupt]) }
            try connection.close()

            let ids = [corrupt, first.deliveries[0].id, 999_999, second.deliveries[0].id]
            let loads = try await fixture.store.loadDeliveries(ids: ids)
            try #require(loads.count == 4)
            guard case .corrupt = loads[0] else { Issue.record("expected corrupt, got \(loads[0])"); return }
            guard case .ready(let ready) = loads[1] else { Issue.record("expected ready, got \(loads[1])"); return }
            #expect(ready.id == first.deliveries[0].id)
            #expect(ready.referralId == "ref-a")
            guard case .notPending = loads[2] else { Issue.record("an unknown id must be notPending, got \(loads[2])"); return }
            guard case .notPending = loads[3] else { Issue.record("a delivered one must be notPending, got \(loads[3])"); return }
            #expect(try await fixture.store.loadDeliveries(ids: []).isEmpty)
            await #expect(throws: StoreError.self) { try await fixture.store.loadDelivery(id: corrupt) }
        }
    }

    @Test func aRetryIsRecordedWithItsErrorStatusAndNextAttempt() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store)
            let delivery = stored.deliveries[0]
            let next = later.adding(.seconds(30))
            try await fixture.store.recordAttempts([
                attempt(stored, delivery, number: 1, .willRetry(at: next, error: "http_503: HTTP 503", status: 503)),
            ])

            #expect(try row(fixture, delivery.id) == DeliveryRow(state: "pending", attempts: 1, lastError: "http_503: HTTP 503", lastStatus: 503,
                                                              deliveredAt: nil, nextAttemptAt: next.millisecondsSinceEpoch, remoteReference: nil))
            let pending = try await fixture.store.pendingDeliveries()
            #expect(pending.map(\.attempts) == [1])
            #expect(pending.first?.nextAttemptAt == next)
            #expect(try await fixture.store.loadDelivery(id: delivery.id)?.attempts == 1)

            // A transport failure has no status: the earlier one is cleared, not kept.
            try await fixture.store.recordAttempts([
                attempt(stored, delivery, number: 2, .willRetry(at: next.adding(.seconds(60)), error: "connect: refused", status: nil)),
            ])
            #expect(try row(fixture, delivery.id)?.lastStatus == nil)
            #expect(try row(fixture, delivery.id)?.attempts == 2)
        }
    }

    @Test func aDeliveryIsRecordedWithItsStatusTimeAndReference() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store)
            let delivery = stored.deliveries[0]
            try await fixture.store.recordAttempts([
                attempt(stored, delivery, number: 1, .willRetry(at: later, error: "timeout: no answer", status: nil)),
            ])
            let deliveredAt = later.adding(.seconds(2))
            try await fixture.store.recordAttempts([
                attempt(stored, delivery, number: 2, .delivered(status: 201, remoteReference: "MSG-42"), at: deliveredAt),
            ])
            #expect(try row(fixture, delivery.id) == DeliveryRow(state: "delivered", attempts: 2, lastError: nil, lastStatus: 201,
                                                              deliveredAt: deliveredAt.millisecondsSinceEpoch,
                                                              nextAttemptAt: later.millisecondsSinceEpoch, remoteReference: "MSG-42"))
            #expect(try await fixture.store.pendingDeliveries().isEmpty)
        }
    }

    @Test func aDeadLetterIsRecordedWithItsReason() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store)
            let delivery = stored.deliveries[0]
            try await fixture.store.recordAttempts([
                attempt(stored, delivery, number: 1, .deadLettered(reason: "Partner refused the referral with HTTP 413", status: 413)),
            ])
            let after = try #require(try row(fixture, delivery.id))
            #expect(after.state == "dead")
            #expect(after.attempts == 1)
            #expect(after.lastError == "Partner refused the referral with HTTP 413")
            #expect(after.lastStatus == 413)
            #expect(after.deliveredAt == nil)
        }
    }

    @Test func recordingAgainstAnAlreadyDeliveredRowChangesNothing() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store)
            let delivery = stored.deliveries[0]
            try await fixture.store.recordAttempts([attempt(stored, delivery, number: 1, .delivered(status: 200, remoteReference: "MSG-1"))])
            let delivered = try #require(try row(fixture, delivery.id))

            try await fixture.store.recordAttempts([attempt(stored, delivery, number: 2, .delivered(status: 202, remoteReference: "MSG-2"),
                                                            at: later.adding(.seconds(9)))])
            try await fixture.store.recordAttempts([attempt(stored, delivery, number: 3, .willRetry(at: later.adding(.seconds(99)),
                                                                                                  error: "http_500: HTTP 500", status: 500))])
            try await fixture.store.recordAttempts([attempt(stored, delivery, number: 4, .deadLettered(reason: "gave up", status: nil))])

            #expect(try row(fixture, delivery.id) == delivered)
            #expect(try await fixture.store.pendingDeliveries().isEmpty)
            #expect(try await fixture.store.status().destinations.first?.delivered == 1)
        }
    }

    @Test func severalAttemptsAreRecordedTogetherInOrder() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store, destinations: ["a", "b", "c"])
            try await fixture.store.recordAttempts([
                attempt(stored, stored.deliveries[0], number: 1, .delivered(status: 200, remoteReference: nil)),
                attempt(stored, stored.deliveries[1], number: 1, .willRetry(at: later.adding(.seconds(1)), error: "http_429: HTTP 429", status: 429)),
                attempt(stored, stored.deliveries[2], number: 1, .deadLettered(reason: "Partner refused the referral with HTTP 404", status: 404)),
            ])
            #expect(try row(fixture, stored.deliveries[0].id)?.state == "delivered")
            #expect(try row(fixture, stored.deliveries[1].id)?.state == "pending")
            #expect(try row(fixture, stored.deliveries[2].id)?.state == "dead")
            let connection = try fixture.rawConnection()
            defer { try? connection.close() }
            let events = try await connection.read { db in
                try Row.fetchAll(db, sql: "SELECT event, destination FROM audit ORDER BY seq DESC LIMIT 3").map {
                    "\($0["event"] as String)@\($0["destination"] as String)"
                }
            }
            #expect(events == ["dead-lettered@c", "retry@b", "delivered@a"])
            #expect(try await fixture.store.verifyAudit().isIntact)
        }
    }

    @Test func recordingNoAttemptsIsANoOp() async throws {
        try await withTemporaryStore { fixture in
            _ = try await commit(fixture.store)
            let before = try await fixture.store.status().auditEvents
            try await fixture.store.recordAttempts([])
            #expect(try await fixture.store.status().auditEvents == before)
        }
    }

    @Test func aRemoteReferenceIsKeptWhenTheDeliveryReportsNone() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store)
            let delivery = stored.deliveries[0]
            try await fixture.store.recordRemoteReference(deliveryID: delivery.id, reference: "20251125170000123456_ABCDEF")
            #expect(try await fixture.store.loadDelivery(id: delivery.id)?.remoteReference == "20251125170000123456_ABCDEF")
            try await fixture.store.recordAttempts([attempt(stored, delivery, number: 1, .delivered(status: 202, remoteReference: nil))])
            #expect(try row(fixture, delivery.id)?.remoteReference == "20251125170000123456_ABCDEF")
        }
    }

    @Test func theReceiptSnapshotReflectsEveryDestinationsState() async throws {
        try await withTemporaryStore { fixture in
            let stored = try await commit(fixture.store, destinations: ["la-front-door", "health-mash", "school-nurse"])
            let deliveredAt = later.adding(.milliseconds(1234))
            try await fixture.store.recordAttempts([
                attempt(stored, stored.deliveries[0], number: 1, .delivered(status: 200, remoteReference: nil), at: deliveredAt),
                attempt(stored, stored.deliveries[1], number: 3, .willRetry(at: later.adding(.seconds(8)), error: "connect: refused", status: nil)),
                attempt(stored, stored.deliveries[2], number: 1, .deadLettered(reason: "Partner refused the referral with HTTP 422", status: 422)),
            ])
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: stored.rowID))
            #expect(snapshot.referralId == "ref-0001")
            #expect(snapshot.agency == "school-a")
            #expect(snapshot.receiptName == "ref-0001.json")
            #expect(snapshot.sourceName == "ref-0001.json")
            #expect(snapshot.receivedAt == Factory.receivedAt)
            #expect(snapshot.receipt == .accepted)
            #expect(snapshot.safetyNet == nil)
            #expect(snapshot.destinations.map(\.destination) == ["la-front-door", "health-mash", "school-nurse"])
            #expect(snapshot.destinations.map(\.state) == ["delivered", "pending", "dead"])
            #expect(snapshot.destinations.map(\.attempts) == [1, 3, 1])
            #expect(snapshot.destinations.map(\.lastError) == [nil, "connect: refused", "Partner refused the referral with HTTP 422"])
            #expect(snapshot.destinations.map(\.lastStatus) == [200, nil, 422])
            #expect(snapshot.destinations.map(\.deliveredAt) == [deliveredAt, nil, nil])
            #expect(snapshot.destinations.allSatisfy { $0.partnerType == "local-authority" })
            #expect(try await fixture.store.receiptSnapshot(referralRowID: 424_242) == nil)
        }
    }

    /// Receipts are read in one go per batch: every existing referral answered, unknown ones left out.
    @Test func receiptSnapshotsAnswersABatchAndLeavesOutUnknownRows() async throws {
        try await withTemporaryStore { fixture in
            let first = try await commit(fixture.store, referralId: "ref-a")
            let second = try await commit(fixture.store, referralId: "ref-b", destinations: ["la-front-door", "health-mash"])
            let snapshots = try await fixture.store.receiptSnapshots(referralRowIDs: [second.rowID, 424_242, first.rowID])
            #expect(snapshots.count == 2)
            #expect(snapshots[first.rowID]?.referralId == "ref-a")
            #expect(snapshots[second.rowID]?.referralId == "ref-b")
            #expect(snapshots[second.rowID]?.destinations.map(\.destination) == ["la-front-door", "health-mash"])
            #expect(snapshots[424_242] == nil)
            #expect(try await fixture.store.receiptSnapshots(referralRowIDs: []).isEmpty)
        }
    }

    @Test func theReceiptSnapshotKeepsValidationIssuesWithTheirPositions() async throws {
        try await withTemporaryStore { fixture in
            let issues = [
                ValidationIssue(pointer: "/child/dateOfBirth", keyword: "format", message: "not a date", line: 4, column: 17,
                                schemaLocation: "https://example.org/referral.schema.json#/properties/child"),
                ValidationIssue(pointer: "", keyword: "required", message: "referrer is required", line: nil, column: nil, schemaLocation: nil),
            ]
            let record = Factory.record(receipt: .rejected, issues: issues, reasons: ["The referral is not valid."])
            let stored = try #require(try await fixture.store.commitIntake([record]).first?.stored)
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: stored.rowID))
            #expect(snapshot.issues == issues)
            #expect(snapshot.reasons == ["The referral is not valid."])
            #expect(snapshot.receipt == .rejected)
            #expect(snapshot.destinations.isEmpty)
        }
    }
}
