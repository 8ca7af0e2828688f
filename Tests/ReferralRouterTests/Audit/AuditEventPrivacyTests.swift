import Foundation
import GRDB
import JSONSchema
import Testing
import TestSupport
@testable import ReferralRouter

/// The audit is kept for ever and holds identifiers, codes and JSON-pointer paths only: never a
/// value from a referral. These tests put distinctive values in the document (and so in every
/// payload) and look for them anywhere in the audit table.
@Suite("Audit events hold no document values")
struct AuditEventPrivacyTests {
    typealias Factory = IntakeRecordFactory

    private static let forbidden = [Factory.childName, "Quillfeather", Factory.nhsNumber, "bruising"]

    private func leaks(in fixture: StoreFixture) throws -> [String] {
        let text = try fixture.allText(of: "audit")
        return Self.forbidden.filter { text.contains($0) }
    }

    @Test func intakeEventsRecordPathsAndCodesButNoValues() async throws {
        try await withTemporaryStore { fixture in
            let invalid = ValidationIssue(pointer: "/child/nhsNumber", keyword: "pattern",
                                          message: "\"\(Factory.nhsNumber)\" does not match the NHS number pattern for \(Factory.childName)",
                                          line: 1, column: 40, schemaLocation: nil)
            var safetyNet = Factory.record(referralId: "ref-net", document: Factory.document(referralId: "ref-net"),
                                           receipt: .forwardedInvalid, priority: .immediate, issues: [invalid])
            safetyNet.decision.safetyNet = .invalid
            let results = try await fixture.store.commitIntake([
                Factory.record(destinations: ["la-front-door", "health-mash"]),
                Factory.record(referralId: "ref-rejected", receipt: .rejected, issues: [invalid],
                               reasons: ["\(Factory.childName)'s NHS number \(Factory.nhsNumber) is not valid."]),
                Factory.record(referralId: "ref-returned", receipt: .returned, destinations: [],
                               reasons: ["Consent for \(Factory.childName) was not recorded."]),
                safetyNet,
                Factory.record(),   // duplicate
            ])
            #expect(results.count == 5)
            #expect(results[4].duplicateOf == "ref-0001")

            let leaked = try leaks(in: fixture)
            #expect(leaked.isEmpty, "leaked: \(leaked)")

            // The paths and codes are there.
            let text = try fixture.allText(of: "audit")
            #expect(text.contains("\"/child/name\""))
            #expect(text.contains("\"/child/nhsNumber\""))
            #expect(text.contains(Digest.hex(Digest.sha256(Factory.document()))))
            let connection = try fixture.rawConnection()
            defer { try? connection.close() }
            let kinds = try await connection.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT event FROM audit ORDER BY event") }
            #expect(kinds == ["duplicate", "received", "rejected", "returned", "routed", "safety-net"])
            // Why each partner type was not sent to is in the decision's own event.
            #expect(text.contains("\"notSent\""))
        }
    }

    /// `BodyExcerpt` documents that partners echo what they were sent; the dead-letter reason that
    /// `DeliveryOutcome.classify` builds from the excerpt is passed unchanged to `recordAttempts`
    /// by `DestinationWorker`.
    @Test func aPartnerEchoingTheReferralLeavesNoValueInTheAudit() async throws {
        try await withTemporaryStore { fixture in
            let stored = try #require(try await fixture.store.commitIntake([Factory.record()]).first?.stored)
            let echo = Array(#"{"error":"child Zebedee Quillfeather (NHS 9434765919) already has an open referral"}"#.utf8)
            let result = TransportResult.response(status: 422, retryAfter: nil, bodyExcerpt: BodyExcerpt.sanitise(echo), remoteReference: nil)
            guard case .deadLetter(let code, let status, let reason) = DeliveryOutcome.classify(result, now: Factory.receivedAt) else {
                Issue.record("a 422 was not dead-lettered")
                return
            }
            try await fixture.store.recordAttempts([
                DeliveryAttemptRecord(deliveryID: stored.deliveries[0].id, referralRowID: stored.rowID, referralId: stored.referralId,
                                      agency: "school-a", destination: "la-front-door", attempt: 1,
                                      result: .deadLettered(reason: reason, status: status), code: code, at: Factory.receivedAt.adding(.seconds(3))),
            ])
            let leaked = try leaks(in: fixture)
            #expect(leaked.isEmpty, "the audit keeps what the partner echoed: \(leaked)")
        }
    }

    /// JSON-pointer paths are built from the document's own object keys. A key the schema does not
    /// allow is reported at its own path, so whatever text an agency put in a key (here a child's
    /// name) travels in the issue's pointer; the permanent audit must not keep it verbatim.
    @Test func aKeyTheDocumentMadeUpDoesNotReachTheAuditThroughAnIssuePointer() async throws {
        let schema = try ReferralSchema.load(path: TestPaths.packageRoot + "/routes/referral.schema.json", maxDepth: 64, maxBytes: 1 << 20)
        let bytes = Array(#"{"referralId":"ref-key","child":{"Zebedee Quillfeather":"see notes"}}"#.utf8)
        let issues = schema.check(bytes).issues
        try #require(issues.contains { $0.pointer.contains("Quillfeather") }, "the validator no longer reports the key's own path")
        try await withTemporaryStore { fixture in
            let record = Factory.record(referralId: "ref-key", document: bytes, receipt: .rejected, issues: issues,
                                        reasons: issues.map(\.message))
            let stored = try #require(try await fixture.store.commitIntake([record]).first?.stored)
            let leaked = try leaks(in: fixture)
            #expect(leaked.isEmpty, "the audit keeps a document key: \(leaked)")
            // The receipt (for the agency that wrote it) still says exactly where the problem is.
            let snapshot = try #require(try await fixture.store.receiptSnapshot(referralRowID: stored.rowID))
            #expect(snapshot.issues.contains { $0.pointer.contains("Quillfeather") })
        }
    }
}
