import JSONSchema
import Testing
@testable import ReferralRouter

@Suite("Receipt.render")
struct ReceiptRenderTests {
    static let receivedAt = Timestamp(millisecondsSinceEpoch: 1_764_090_000_000)   // 2025-11-25T17:00:00.000Z
    static let updatedAt = Timestamp(millisecondsSinceEpoch: 1_764_090_065_432)    // 2025-11-25T17:01:05.432Z

    private func destination(_ name: String, _ state: String, attempts: Int = 1, lastError: String? = nil,
                             deliveredAt: Timestamp? = nil) -> ReceiptSnapshot.Destination {
        ReceiptSnapshot.Destination(destination: name, partnerType: "local-authority", state: state, attempts: attempts,
                                    lastError: lastError, lastStatus: nil, deliveredAt: deliveredAt)
    }

    private func snapshot(_ receipt: ReceiptCode = .accepted, destinations: [ReceiptSnapshot.Destination] = [],
                          reasons: [String] = [], issues: [ValidationIssue] = [], safetyNet: String? = nil) -> ReceiptSnapshot {
        ReceiptSnapshot(referralId: "ref-0001", agency: "school-a", receiptName: "ref-0001.json", sourceName: "incoming-17.json",
                        receivedAt: Self.receivedAt, receipt: receipt, reasons: reasons, issues: issues, safetyNet: safetyNet,
                        destinations: destinations)
    }

    private func render(_ snapshot: ReceiptSnapshot) -> JSONValue {
        Receipt.render(snapshot, updatedAt: Self.updatedAt)
    }

    @Test func theHeaderNamesTheReferralItsSourceAndTimes() {
        let receipt = render(snapshot(destinations: [destination("la-front-door", "pending", attempts: 0)]))
        #expect(receipt["receiptVersion"] == 1)
        #expect(receipt["referralId"] == "ref-0001")
        #expect(receipt["agency"] == "school-a")
        #expect(receipt["source"] == "incoming-17.json")
        #expect(receipt["receivedAt"] == "2025-11-25T17:00:00.000Z")
        #expect(receipt["updatedAt"] == "2025-11-25T17:01:05.432Z")
        #expect(receipt["status"] == "ACCEPTED")
        #expect(receipt["safetyNet"] == .null)
        #expect(receipt["reasons"] == [])
        #expect(receipt["errors"] == [])
    }

    @Test func eachDestinationIsQueuedDeliveredOrFailed() {
        let deliveredAt = Self.receivedAt.adding(.seconds(2))
        let receipt = render(snapshot(destinations: [
            destination("la-front-door", "delivered", deliveredAt: deliveredAt),
            destination("health-mash", "pending", attempts: 3, lastError: "connect: refused"),
            destination("school-nurse", "dead", attempts: 1, lastError: "Partner refused the referral with HTTP 422"),
        ]))
        let destinations = receipt["destinations"]?.arrayValue ?? []
        #expect(destinations.count == 3)
        #expect(destinations.map { $0["status"] } == ["delivered", "queued", "failed"])
        #expect(destinations.map { $0["destination"] } == ["la-front-door", "health-mash", "school-nurse"])
        #expect(destinations.map { $0["attempts"] } == [1, 3, 1])
        #expect(destinations.map { $0["deliveredAt"] } == ["2025-11-25T17:00:02.000Z", .null, .null])
        #expect(destinations.map { $0["lastError"] } == [.null, "connect: refused", "Partner refused the referral with HTTP 422"])
        #expect(destinations.allSatisfy { $0["partnerType"] == "local-authority" })
    }

    @Test(arguments: [("pending", "queued"), ("delivered", "delivered"), ("dead", "failed"), ("unheard-of", "queued")])
    func storedStatesMapToReceiptStatuses(state: String, status: String) {
        #expect(Receipt.status(of: state) == status)
    }

    @Test func anAcceptedReferralSaysHowFarDeliveryHasGot() {
        let allDelivered = render(snapshot(destinations: [destination("a", "delivered"), destination("b", "delivered")]))
        #expect(allDelivered["message"] == "Accepted and delivered to every partner that should receive it.")

        let partly = render(snapshot(destinations: [destination("a", "delivered"), destination("b", "pending"), destination("c", "pending")]))
        #expect(partly["message"] == "Accepted. Delivered to 1 of 3 partners so far; the rest are queued and will be retried until delivered.")

        let failed = render(snapshot(destinations: [destination("a", "delivered"), destination("b", "dead")]))
        #expect(failed["message"] == "Accepted. 1 of 2 deliveries failed; the router's operators have been alerted.")
    }

    @Test(arguments: [
        (ReceiptCode.consentRequired, "Not sent: this referral needs the family's consent. See reasons."),
        (.returned, "Not sent: returned to you. See reasons."),
        (.rejected, "Rejected: the referral was not accepted. Correct the errors listed and send it again."),
        (.forwardedInvalid, "Forwarded as invalid: the referral failed validation but is marked immediate, so it was sent whole to the safety-net destination listed below. Correct the errors and resubmit under the same referralId."),
        (.forwardedUnrouted, "Forwarded as unrouted: no routing rule matched, but the referral is marked immediate, so it was sent whole to the safety-net destination listed below."),
    ])
    func everyOtherReceiptCodeHasItsMessage(code: ReceiptCode, message: String) {
        let receipt = render(snapshot(code, reasons: ["Because."]))
        #expect(receipt["status"] == .string(code.rawValue))
        #expect(receipt["message"] == .string(message))
        #expect(receipt["reasons"] == ["Because."])
    }

    @Test func everyReceiptCodeHasADistinctMessage() {
        let messages = ReceiptCode.allCases.map { Receipt.message(for: snapshot($0)) }
        #expect(Set(messages).count == ReceiptCode.allCases.count)
    }

    @Test func errorsAreListedWithTheirLineAndColumn() {
        let issues = [
            ValidationIssue(pointer: "/child/dateOfBirth", keyword: "format", message: "\"31/02/2015\" is not a date", line: 7, column: 23,
                            schemaLocation: "https://example.org/referral.schema.json#/$defs/date/format"),
            ValidationIssue(pointer: "", keyword: "json", message: "The file is not valid JSON: unexpected end", line: 12, column: 1,
                            schemaLocation: nil),
            ValidationIssue(pointer: "/referralId", keyword: "uniqueReferralId", message: "Already used.", line: nil, column: nil,
                            schemaLocation: nil),
        ]
        let receipt = render(snapshot(.rejected, reasons: ["The referral is not valid."], issues: issues))
        let errors = receipt["errors"]?.arrayValue ?? []
        #expect(errors.count == 3)
        #expect(errors[0] == [
            "pointer": "/child/dateOfBirth", "keyword": "format", "message": "\"31/02/2015\" is not a date", "line": 7, "column": 23,
            "schemaLocation": "https://example.org/referral.schema.json#/$defs/date/format",
        ])
        #expect(errors[1]["line"] == 12)
        #expect(errors[1]["column"] == 1)
        #expect(errors[1].objectValue?.contains(key: "schemaLocation") == false)
        #expect(errors[2]["line"] == .null)
        #expect(errors[2]["column"] == .null)
        #expect(receipt["destinations"] == [])
    }

    @Test func aSafetyNetForwardIsNamed() {
        let receipt = render(snapshot(.forwardedInvalid, destinations: [destination("la-front-door", "pending", attempts: 0)], safetyNet: "invalid"))
        #expect(receipt["safetyNet"] == "invalid")
    }

    @Test func theRenderedReceiptIsStableJSON() throws {
        let rendered = render(snapshot(destinations: [destination("a", "delivered", deliveredAt: Self.receivedAt)]))
        let text = rendered.jsonText(sortedKeys: true)
        let parsed = try JSONDocument(parsing: text)
        #expect(parsed.root == rendered)
        #expect(rendered.serialized(pretty: true) == render(snapshot(destinations: [destination("a", "delivered", deliveredAt: Self.receivedAt)]))
            .serialized(pretty: true))
    }
}
