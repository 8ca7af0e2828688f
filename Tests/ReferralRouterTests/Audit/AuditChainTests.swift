import Foundation
import GRDB
import JSONSchema
import Testing
@testable import ReferralRouter

@Suite("Audit chain: verification and tampering")
struct AuditChainTests {
    typealias Factory = IntakeRecordFactory

    /// Commits `referrals` referrals (each with two deliveries), records a retry and a delivery for the
    /// first, and appends a free-standing event. Returns the number of audit rows written.
    @discardableResult
    private func fill(_ store: SQLiteReferralStore, referrals: Int = 30) async throws -> Int {
        let records = (0..<referrals).map {
            Factory.record(referralId: "ref-\($0)", destinations: ["la-front-door", "health-mash"],
                           receivedAt: Factory.receivedAt.adding(.seconds(Int64($0))))
        }
        let stored = try await store.commitIntake(records).compactMap(\.stored)
        try #require(stored.count == referrals)
        let first = stored[0]
        let at = Factory.receivedAt.adding(.seconds(3600))
        try await store.recordAttempts([
            DeliveryAttemptRecord(deliveryID: first.deliveries[0].id, referralRowID: first.rowID, referralId: first.referralId,
                                  agency: "school-a", destination: "la-front-door", attempt: 1,
                                  result: .willRetry(at: at.adding(.seconds(4)), error: "http_503: HTTP 503", status: 503), code: "http_503", at: at),
            DeliveryAttemptRecord(deliveryID: first.deliveries[1].id, referralRowID: first.rowID, referralId: first.referralId,
                                  agency: "school-a", destination: "health-mash", attempt: 1,
                                  result: .delivered(status: 202, remoteReference: nil), code: "delivered", at: at),
        ])
        try await store.appendAudit([AuditEvent(kind: .configurationLoaded, at: at, outcome: "loaded",
                                                detail: ["routes": .string("routes/default.toml"), "rules": .number(JSONNumber(7))])])
        let rows = try await store.status().auditEvents
        // At least the decision and the two queued deliveries of each referral, then the three above.
        try #require(rows >= referrals * 3 + 3)
        return rows
    }

    private func storedHashes(_ fixture: StoreFixture) throws -> [Data] {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        return try connection.read { db in try Data.fetchAll(db, sql: "SELECT hash FROM audit ORDER BY seq") }
    }

    @Test func theChainIsIntactAfterManyEvents() async throws {
        try await withTemporaryStore { fixture in
            let events = try await fill(fixture.store)
            let verification = try await fixture.store.verifyAudit()
            #expect(verification.isIntact)
            #expect(verification.firstBrokenSeq == nil)
            #expect(verification.eventsChecked == events)
            #expect(verification.keyed == false)
            #expect(verification.headHash == Digest.hex(try #require(try storedHashes(fixture).last)))
            #expect(verification.description.hasPrefix("Audit chain intact: \(events) events"))
            #expect(try await fixture.store.status().auditEvents == events)
        }
    }

    @Test(arguments: [
        ("detail", "'{\"sha256\":\"0000\"}'"),
        ("outcome", "'REJECTED'"),
        ("at", "at + 1"),
        ("event", "'delivered'"),
        ("referral_id", "'ref-other'"),
        ("destination", "'police-mash'"),
    ])
    func changingOneStoredColumnBreaksTheChainAtThatEvent(column: String, newValue: String) async throws {
        try await withTemporaryStore { fixture in
            let events = try await fill(fixture.store)
            let target = 57
            try #require(target < events)
            try await fixture.execute("UPDATE audit SET \(column) = \(newValue) WHERE seq = ?", [target])

            let verification = try await fixture.store.verifyAudit()
            #expect(verification.firstBrokenSeq == Int64(target))
            #expect(verification.eventsChecked == target - 1)
            #expect(!verification.isIntact)
            #expect(verification.description == "Audit chain BROKEN at event \(target) (\(target - 1) events checked).")
        }
    }

    @Test func deletingAMiddleEventIsDetectedAtTheNextOne() async throws {
        try await withTemporaryStore { fixture in
            try await fill(fixture.store)
            try await fixture.execute("DELETE FROM audit WHERE seq = 40")
            let verification = try await fixture.store.verifyAudit()
            #expect(verification.firstBrokenSeq == 41)
            #expect(verification.eventsChecked == 39)
        }
    }

    @Test func renumberingAfterADeletionIsStillDetected() async throws {
        try await withTemporaryStore { fixture in
            let events = try await fill(fixture.store)
            try await fixture.execute("DELETE FROM audit WHERE seq = 40")
            try await fixture.execute("UPDATE audit SET seq = seq - 1 WHERE seq > 40")
            let verification = try await fixture.store.verifyAudit()
            #expect(verification.firstBrokenSeq == 40)
            #expect(verification.eventsChecked == 39)
            #expect(events > 40)
        }
    }

    @Test func removingTheNewestEventsChangesTheHeadHash() async throws {
        try await withTemporaryStore { fixture in
            let events = try await fill(fixture.store)
            let before = try await fixture.store.verifyAudit()
            try await fixture.execute("DELETE FROM audit WHERE seq = ?", [events])
            let after = try await fixture.store.verifyAudit()
            // The chain alone cannot see a cut tail; an anchored head hash can.
            #expect(after.isIntact)
            #expect(after.eventsChecked == events - 1)
            #expect(after.headHash != before.headHash)
        }
    }

    @Test func aKeyedChainHashesDifferentlyAndOnlyVerifiesWithItsKey() async throws {
        let key = Array("audit-key-for-tests-0123456789ab".utf8)
        try await withTemporaryStore(auditKey: key) { keyed in
            try await withTemporaryStore { plain in
                try await fill(keyed.store)
                try await fill(plain.store)
                let keyedHashes = try storedHashes(keyed)
                let plainHashes = try storedHashes(plain)
                #expect(keyedHashes.count == plainHashes.count)
                #expect(zip(keyedHashes, plainHashes).allSatisfy { $0 != $1 })

                let verification = try await keyed.store.verifyAudit()
                #expect(verification.isIntact)
                #expect(verification.keyed)
                #expect(verification.description.hasSuffix("(HMAC-keyed)."))

                let wrongKey = try keyed.reopen(auditKey: .some(Array("another-key-entirely-0123456789ab".utf8)))
                #expect(try await wrongKey.verifyAudit().firstBrokenSeq == 1)
                let noKey = try keyed.reopen(auditKey: .some(nil))
                #expect(try await noKey.verifyAudit().firstBrokenSeq == 1)
            }
        }
    }

    /// Someone with write access rewrites an event and recomputes every later hash with the public
    /// algorithm: an unkeyed chain cannot tell, a keyed one can.
    @Test func recomputingTheChainAfterAnEditIsCaughtOnlyWithAKey() async throws {
        let key = Array("audit-key-for-tests-0123456789ab".utf8)
        for auditKey in [nil, key] {
            try await withTemporaryStore(auditKey: auditKey) { fixture in
                try await fill(fixture.store, referrals: 5)
                try await fixture.execute("UPDATE audit SET outcome = 'REJECTED' WHERE seq = 5")
                try rechainWithoutKey(fixture)
                let verification = try await fixture.store.verifyAudit()
                if auditKey == nil {
                    #expect(verification.isIntact, "an unkeyed chain is recomputable by design")
                } else {
                    #expect(verification.firstBrokenSeq == 1)
                }
            }
        }
    }

    /// Recomputes every stored hash with the unkeyed algorithm, as a forger would.
    private func rechainWithoutKey(_ fixture: StoreFixture) throws {
        let connection = try fixture.rawConnection()
        defer { try? connection.close() }
        let chain = AuditChain(key: nil)
        try connection.write { db in
            var previous = AuditChain.genesis
            for row in try Row.fetchAll(db, sql: "SELECT * FROM audit ORDER BY seq") {
                let canonical = AuditChain.canonicalBytes(
                    seq: row["seq"], at: Timestamp(millisecondsSinceEpoch: row["at"]), event: row["event"],
                    referralId: row["referral_id"], agency: row["agency"], destination: row["destination"],
                    rule: row["rule"], outcome: row["outcome"], detailText: row["detail"])
                let hash = chain.hash(previous: previous, canonical: canonical)
                try db.execute(sql: "UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
                               arguments: [Data(previous), Data(hash), row["seq"] as Int64])
                previous = hash
            }
        }
    }

    /// SQLite keeps a value of the wrong type in a column (text in INTEGER `at`, an integer in BLOB
    /// `hash`). The verifier reports such a row as where the chain breaks, like any other edit.
    @Test(arguments: [("at", "'yesterday'"), ("hash", "0"), ("prev_hash", "42"), ("detail", "12345")])
    func aValueOfTheWrongTypeIsReportedAsABreak(column: String, newValue: String) async throws {
        try await withTemporaryStore { fixture in
            try await fill(fixture.store, referrals: 3)
            try await fixture.execute("UPDATE audit SET \(column) = \(newValue) WHERE seq = 7")
            let verification = try await fixture.store.verifyAudit()
            #expect(verification.firstBrokenSeq == 7)
        }
    }

    /// Events are rendered before the write transaction with everything but their `seq`; the bytes
    /// hashed must be exactly the canonical form that verification recomputes.
    @Test(arguments: [nil, [UInt8](repeating: 7, count: 32)] as [[UInt8]?])
    func anEventRenderedAheadHashesAsItsCanonicalForm(key: [UInt8]?) {
        let chain = AuditChain(key: key)
        let previous = [UInt8](repeating: 3, count: 32)
        let events = [
            AuditEvent(kind: .received, at: Timestamp(millisecondsSinceEpoch: 1_764_000_000_123), referralId: "r-\"quoted\"\n",
                       agency: "school-a", outcome: "ACCEPTED", detail: ["notSent": ["é", "😀"], "bytes": 4589]),
            AuditEvent(kind: .configurationLoaded, at: Timestamp(millisecondsSinceEpoch: 0)),
            AuditEvent(kind: .routed, at: Timestamp(millisecondsSinceEpoch: 5), referralId: "", agency: "", destination: "",
                       rule: "", outcome: "", detail: ["sent": [""]], referralRow: 42),
        ]
        for event in events {
            let rendered = RenderedAuditEvent(event)
            for seq: Int64 in [1, 9, 10, 1_234_567_890_123] {
                // The form written down independently: one object of every hashed column, keys sorted.
                var object = JSONObject()
                object["seq"] = .number(JSONNumber(Int(seq)))
                object["at"] = .number(JSONNumber(Int(event.at.millisecondsSinceEpoch)))
                object["event"] = .string(event.kind.rawValue)
                object["referralId"] = event.referralId.map(JSONValue.string) ?? .null
                object["agency"] = event.agency.map(JSONValue.string) ?? .null
                object["destination"] = event.destination.map(JSONValue.string) ?? .null
                object["rule"] = event.rule.map(JSONValue.string) ?? .null
                object["outcome"] = event.outcome.map(JSONValue.string) ?? .null
                object["detail"] = .string(rendered.detailText)
                let expected = JSONValue.object(object).serialized(sortedKeys: true)
                let canonical = AuditChain.canonicalBytes(
                    seq: seq, at: event.at, event: event.kind.rawValue, referralId: event.referralId, agency: event.agency,
                    destination: event.destination, rule: event.rule, outcome: event.outcome, detailText: rendered.detailText)
                #expect(canonical == expected)
                #expect(rendered.canonicalPrefix + Array("\(seq)}".utf8) == expected)
                let ahead = chain.hash(previous: previous, canonicalPrefix: rendered.canonicalPrefix, seq: seq)
                #expect(ahead == chain.hash(previous: previous, canonical: expected))
                // Unkeyed, the hash is plain SHA-256 of the previous hash and the bytes; keyed, it is not.
                #expect((ahead == Digest.sha256(previous + expected)) == (key == nil))
            }
        }
    }

    @Test func theCanonicalFormCoversEveryColumnAndDistinguishesNullFromEmpty() {
        let base = AuditChain.canonicalBytes(seq: 1, at: Timestamp(millisecondsSinceEpoch: 5), event: "received", referralId: "r",
                                             agency: "a", destination: nil, rule: nil, outcome: "ACCEPTED", detailText: "{}")
        let variants = [
            AuditChain.canonicalBytes(seq: 2, at: Timestamp(millisecondsSinceEpoch: 5), event: "received", referralId: "r",
                                      agency: "a", destination: nil, rule: nil, outcome: "ACCEPTED", detailText: "{}"),
            AuditChain.canonicalBytes(seq: 1, at: Timestamp(millisecondsSinceEpoch: 6), event: "received", referralId: "r",
                                      agency: "a", destination: nil, rule: nil, outcome: "ACCEPTED", detailText: "{}"),
            AuditChain.canonicalBytes(seq: 1, at: Timestamp(millisecondsSinceEpoch: 5), event: "received", referralId: "r",
                                      agency: "a", destination: "", rule: nil, outcome: "ACCEPTED", detailText: "{}"),
            AuditChain.canonicalBytes(seq: 1, at: Timestamp(millisecondsSinceEpoch: 5), event: "received", referralId: "r",
                                      agency: "a", destination: nil, rule: "", outcome: "ACCEPTED", detailText: "{}"),
            AuditChain.canonicalBytes(seq: 1, at: Timestamp(millisecondsSinceEpoch: 5), event: "received", referralId: "r",
                                      agency: "a", destination: nil, rule: nil, outcome: "ACCEPTED", detailText: "{ }"),
            // Moving text between adjacent columns must not give the same bytes.
            AuditChain.canonicalBytes(seq: 1, at: Timestamp(millisecondsSinceEpoch: 5), event: "received", referralId: "ra",
                                      agency: "", destination: nil, rule: nil, outcome: "ACCEPTED", detailText: "{}"),
        ]
        #expect(variants.allSatisfy { $0 != base })
        #expect(Set(variants.map { Digest.hex($0) }).count == variants.count)
    }
}
