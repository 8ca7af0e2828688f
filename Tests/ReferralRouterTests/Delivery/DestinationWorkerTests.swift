import Curl
import Foundation
import GRDB
import Logging
import Synchronization
import Testing
import TestSupport
@testable import ReferralRouter

/// One destination's worker end to end: a real store, real HTTPS to the test partner on 127.0.0.1,
/// the real classification, recording and retry timing (with small retry settings).
@Suite("DestinationWorker over HTTPS")
struct DestinationWorkerTests {
    typealias Factory = IntakeRecordFactory

    final class FatalErrors: Sendable {
        let errors = Mutex<[String]>([])
    }

    // Records are received "now": the worker dead-letters anything older than max_age (5 days).

    /// A store, a partner answering from `script`, and a running worker for destination `la-front-door`.
    /// What a test gets besides the store, partner and worker: enough to build a new transport (a reload).
    struct Context {
        var pki: TestPKI
        var client: HTTPClient
        var settings: DeliverySettings
        var url: String

        func transport(caFile: String) -> HTTPSTransport {
            HTTPSTransport(endpoint: HTTPSEndpoint(url: url, tls: TLSSettings(caFile: caFile), bearerToken: nil, proxy: nil),
                           settings: settings, client: client, secrets: ResolvedSecrets())
        }
    }

    private func withWorker(script: String, serverCertificate: TestPartner.ServerCertificate = .normal,
                            settings configure: (inout DeliverySettings) -> Void = { _ in },
                            _ body: (StoreFixture, TestPartner, DestinationWorker) async throws -> Void) async throws {
        try await withWorker(script: script, serverCertificate: serverCertificate, settings: configure) { fixture, partner, worker, _ in
            try await body(fixture, partner, worker)
        }
    }

    private func withWorker(script: String, serverCertificate: TestPartner.ServerCertificate = .normal,
                            settings configure: (inout DeliverySettings) -> Void = { _ in },
                            _ body: (StoreFixture, TestPartner, DestinationWorker, Context) async throws -> Void) async throws {
        try await withTemporaryStore { fixture in
            try await RouterTestPKI.withPartner(script: script, serverCertificate: serverCertificate) { partner, pki in
                let client = try HTTPClient()
                defer { client.shutdown() }

                var settings = DeliverySettings()
                settings.retryBase = .milliseconds(20)
                settings.retryCap = .milliseconds(40)
                settings.connectTimeout = .seconds(5)
                settings.totalTimeout = .seconds(10)
                configure(&settings)
                let context = Context(pki: pki, client: client, settings: settings, url: partner.url(path: "/referrals"))
                let transport = context.transport(caFile: pki.caCertificate)
                let logger = Logger(label: "worker-test", factory: { _ in SwiftLogNoOpLogHandler() })
                let store = fixture.store
                let fatal = FatalErrors()
                let receipts = ReceiptWriter(store: store, agencies: [], enabled: false, logger: logger, onFatal: { _ in })
                let worker = DestinationWorker(destination: "la-front-door", settings: settings, transport: transport, store: store,
                                               storeCalls: DeliveryStoreCalls(store: store), receipts: receipts, logger: logger,
                                               onFatal: { error in fatal.errors.withLock { $0.append(error.code) } })
                let running = Task { await worker.run() }
                do {
                    try await body(fixture, partner, worker, context)
                } catch {
                    await worker.stop()
                    running.cancel()
                    throw error
                }
                await worker.stop()
                try await withinDeadline(seconds: 10) { await running.value }
                #expect(fatal.errors.withLock { $0 } == [])
            }
        }
    }

    private struct DeliveryState: Equatable {
        var state: String
        var attempts: Int
        var lastStatus: Int?
    }

    private func state(_ fixture: StoreFixture, _ id: Int64) throws -> DeliveryState? {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in
            try Row.fetchOne(db, sql: "SELECT state, attempts, last_status FROM delivery WHERE id = ?", arguments: [id]).map {
                DeliveryState(state: $0["state"], attempts: $0["attempts"], lastStatus: $0["last_status"])
            }
        }
    }

    /// Polls the delivery row every 10 ms, at most `seconds`, until it leaves `pending`.
    private func settled(_ fixture: StoreFixture, _ id: Int64, within seconds: Int = 10) async throws -> DeliveryState? {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if let current = try state(fixture, id), current.state != "pending" { return current }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try state(fixture, id)
    }

    @Test func aRefusedAttemptIsRetriedWithTheSameBytesAndIdempotencyKeyUntilDelivered() async throws {
        let script = #"{"/referrals": [{"status": 503, "headers": {"Retry-After": "0"}}, {"status": 500}, {"status": 202}]}"#
        try await withWorker(script: script) { fixture, partner, worker in
            let record = Factory.record(receivedAt: .now())
            let stored = try #require(try await fixture.store.commitIntake([record]).first?.stored)
            await worker.enqueue(stored.deliveries)

            let final = try await settled(fixture, stored.deliveries[0].id)
            #expect(final == DeliveryState(state: "delivered", attempts: 3, lastStatus: 202))
            let requests = try partner.received(path: "/referrals")
            #expect(requests.count == 3)
            let planned = record.decision.deliveries[0]
            #expect(requests.allSatisfy { $0.header("Idempotency-Key") == planned.idempotencyKey })
            #expect(requests.allSatisfy { $0.body == planned.payload })
            #expect(requests.allSatisfy { $0.header("X-Referral-Id") == "ref-0001" && $0.method == "POST" })
            #expect(requests.allSatisfy { $0.header("Content-Type") == "application/json" })
            let connection = try fixture.rawConnection()
            defer { try? connection.close() }
            let events = try await connection.read { db in
                try String.fetchAll(db, sql: "SELECT event FROM audit WHERE destination = 'la-front-door' AND event IN ('retry', 'delivered', 'dead-lettered') ORDER BY seq")
            }
            #expect(events == ["retry", "retry", "delivered"])
            #expect(try await fixture.store.verifyAudit().isIntact)
        }
    }

    /// A queued delivery whose record cannot be read (its payload gone) is set aside without a send
    /// and without stopping the daemon; a healthy one loaded in the same batch is still delivered.
    @Test func aCorruptRecordIsSetAsideAndTheRestOfItsBatchIsDelivered() async throws {
        let script = #"{"/referrals": [{"status": 202}]}"#
        try await withWorker(script: script) { fixture, partner, worker in
            let stored = try await fixture.store.commitIntake([Factory.record(referralId: "ref-corrupt", receivedAt: .now()),
                                                               Factory.record(referralId: "ref-healthy", receivedAt: .now())])
            let corrupt = try #require(stored.first?.stored)
            let healthy = try #require(stored.last?.stored)
            try await fixture.execute("DELETE FROM delivery_payload WHERE delivery = ?", [corrupt.deliveries[0].id])
            await worker.enqueue(corrupt.deliveries + healthy.deliveries)

            #expect(try await settled(fixture, healthy.deliveries[0].id) == DeliveryState(state: "delivered", attempts: 1, lastStatus: 202))
            let requests = try partner.received(path: "/referrals")
            #expect(requests.map { $0.header("X-Referral-Id") } == ["ref-healthy"])
            var queued = await worker.snapshot.queued
            for _ in 0..<100 where queued > 0 {   // at most 5 s
                try await Task.sleep(for: .milliseconds(50))
                queued = await worker.snapshot.queued
            }
            #expect(queued == 0, "the corrupt delivery stayed queued")
            #expect(try state(fixture, corrupt.deliveries[0].id) == DeliveryState(state: "pending", attempts: 0, lastStatus: nil))
        }
    }

    @Test func aClientErrorIsDeadLetteredAfterOneAttemptAndNeverResent() async throws {
        let script = #"{"/referrals": [{"status": 422, "body": "{\"error\": \"missing field concern\"}"}]}"#
        try await withWorker(script: script) { fixture, partner, worker in
            let stored = try #require(try await fixture.store.commitIntake([Factory.record(receivedAt: .now())]).first?.stored)
            await worker.enqueue(stored.deliveries)

            let final = try await settled(fixture, stored.deliveries[0].id)
            #expect(final == DeliveryState(state: "dead", attempts: 1, lastStatus: 422))
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: stored.rowID))
            #expect(snapshot.destinations.first?.lastError?.contains("HTTP 422") == true)
            #expect(snapshot.destinations.first?.lastError?.contains("missing field concern") == true)
            try await Task.sleep(for: .milliseconds(100))
            #expect(try partner.received(path: "/referrals").count == 1)
            #expect(await worker.snapshot.queued == 0)
        }
    }

    @Test func anImmediateReferralIsSentBeforeAQueuedRoutineBacklog() async throws {
        try await withWorker(script: #"{"/referrals": [{"status": 202}]}"#, settings: { $0.maxInFlight = 1 }) { fixture, partner, worker in
            let now = Timestamp.now()
            let backlog = (0..<15).map { Factory.record(referralId: "ref-routine-\($0)", receivedAt: now) }
            let urgent = Factory.record(referralId: "ref-urgent", priority: .urgent, receivedAt: now)
            let immediate = Factory.record(referralId: "ref-immediate", priority: .immediate, receivedAt: now)
            let stored = try await fixture.store.commitIntake(backlog + [urgent, immediate]).compactMap(\.stored)
            try #require(stored.count == 17)
            // All handed over at once, in arrival order (the immediate one last).
            await worker.enqueue(stored.flatMap(\.deliveries))

            let requests = try await partner.waitForRequests(count: 17, path: "/referrals", timeout: .seconds(10))
            let order = requests.sorted { $0.seq < $1.seq }.compactMap { $0.header("X-Referral-Id") }
            #expect(order.count == 17)
            #expect(Array(order.prefix(2)) == ["ref-immediate", "ref-urgent"])
            #expect(Array(order.dropFirst(2)) == (0..<15).map { "ref-routine-\($0)" })
            for delivery in stored.flatMap(\.deliveries) {
                #expect(try await settled(fixture, delivery.id)?.state == "delivered")
            }
        }
    }

    /// Transfers in flight together fail together when their connection drops (one HTTP/2 connection
    /// carries them all): that is one failure for the breaker, not eight, so a single reset does not
    /// pause a healthy partner for the cool-down. A partner that keeps failing still opens it.
    @Test func failuresOfTransfersInFlightTogetherCountOnceTowardsTheBreaker() async throws {
        let resets = Array(repeating: #"{"action": "reset"}"#, count: 8).joined(separator: ", ")
        let script = #"{"/referrals": ["# + resets + #", {"status": 202}]}"#
        try await withWorker(script: script, settings: {
            $0.maxInFlight = 8
            $0.breakerFailureThreshold = 3
            $0.breakerCooldown = .seconds(120)
        }) { fixture, partner, worker in
            let now = Timestamp.now()
            let stored = try await fixture.store.commitIntake((0..<8).map { Factory.record(referralId: "ref-burst-\($0)", receivedAt: now) })
                .compactMap(\.stored)
            try #require(stored.count == 8)
            await worker.enqueue(stored.flatMap(\.deliveries))

            // Counted one by one, the eight resets would open the breaker for 120 s.
            for delivery in stored.flatMap(\.deliveries) {
                #expect(try await settled(fixture, delivery.id, within: 30) == DeliveryState(state: "delivered", attempts: 2, lastStatus: 202))
            }
            #expect(try partner.received(path: "/referrals").count == 16)
            let snapshot = await worker.snapshot
            #expect(!snapshot.breakerOpen)
            #expect(snapshot.consecutiveFailures == 0)
        }
    }

    /// A partner's Retry-After speaks for the partner, not one referral: nothing else is sent to it
    /// until the pause (clamped to retry_after_max) is over.
    @Test func aRetryAfterPausesTheWholeDestinationForTheClampedTime() async throws {
        let script = #"{"/referrals": [{"status": 429, "headers": {"Retry-After": "30"}}, {"status": 202}]}"#
        try await withWorker(script: script, settings: { $0.maxInFlight = 1; $0.retryAfterMax = .milliseconds(400) }) { fixture, partner, worker in
            let now = Timestamp.now()
            let stored = try await fixture.store.commitIntake([
                Factory.record(referralId: "ref-first", priority: .immediate, receivedAt: now),
                Factory.record(referralId: "ref-second", receivedAt: now),
            ]).compactMap(\.stored)
            try #require(stored.count == 2)
            await worker.enqueue(stored.flatMap(\.deliveries))

            let requests = try await partner.waitForRequests(count: 3, path: "/referrals", timeout: .seconds(10)).sorted { $0.seq < $1.seq }
            #expect(requests.first?.header("X-Referral-Id") == "ref-first")
            #expect(requests.first?.status == 429)
            let paused = requests.dropFirst().map { $0.receivedAt - requests[0].receivedAt }
            #expect(paused.allSatisfy { $0 >= 0.38 }, "sent \(paused) s after the 429")
            #expect(paused.allSatisfy { $0 < 5 }, "the 30 s Retry-After was not clamped: \(paused)")
            for delivery in stored.flatMap(\.deliveries) {
                #expect(try await settled(fixture, delivery.id)?.state == "delivered")
            }
        }
    }

    /// A certificate the configuration does not trust: nothing is sent, the destination waits for
    /// an operator (tls_failure_retry is long), and a reload with the right CA delivers at once.
    @Test func aTLSFailureSendsNothingAndAReloadWithTheRightCADeliversAtOnce() async throws {
        try await withWorker(script: #"{"/referrals": [{"status": 202}]}"#, serverCertificate: .wrongCA,
                             settings: { $0.tlsFailureRetry = .seconds(120); $0.maxInFlight = 1 }) { fixture, partner, worker, context in
            let now = Timestamp.now()
            let stored = try await fixture.store.commitIntake([
                Factory.record(referralId: "ref-one", receivedAt: now), Factory.record(referralId: "ref-two", receivedAt: now),
            ]).compactMap(\.stored)
            try #require(stored.count == 2)
            await worker.enqueue(stored.flatMap(\.deliveries))

            // The first attempt fails verification and is recorded; the second is held back by the pause.
            let deadline = ContinuousClock.now + .seconds(10)
            while try state(fixture, stored[0].deliveries[0].id)?.attempts != 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: stored[0].rowID))
            #expect(snapshot.destinations.first?.lastError?.hasPrefix("tls_verification") == true, "\(snapshot.destinations)")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try state(fixture, stored[1].deliveries[0].id)?.attempts == 0)
            #expect(try partner.received(path: "/referrals").isEmpty)

            await worker.update(settings: context.settings, transport: context.transport(caFile: context.pki.otherCACertificate))
            for delivery in stored.flatMap(\.deliveries) {
                #expect(try await settled(fixture, delivery.id, within: 10)?.state == "delivered")
            }
            #expect(try partner.received(path: "/referrals").count == 2)
        }
    }
}
