import JSONSchema
@testable import ReferralRouter

/// Builds `IntakeRecord`s by hand, shaped as `ReferralPreparer` shapes them (content hash of the
/// document bytes, idempotency key per referral and destination), with small routing decisions.
enum IntakeRecordFactory {
    /// A fictitious child: distinctive values that must never show up in the audit.
    static let childName = "Zebedee Quillfeather"
    static let nhsNumber = "9434765919"
    static let receivedAt = Timestamp(millisecondsSinceEpoch: 1_764_090_000_000)   // 2025-11-25T17:00:00Z

    /// A referral document; `variant` changes the bytes without changing the shape.
    static func document(referralId: String = "ref-0001", variant: Int = 0) -> [UInt8] {
        Array("""
            {"referralId":"\(referralId)","child":{"name":"\(childName)","nhsNumber":"\(nhsNumber)"},\
            "concern":"Seen with bruising by \(childName)'s teacher","variant":\(variant)}
            """.utf8)
    }

    static func delivery(referralId: String, destination: String, partnerType: PartnerType = .localAuthority,
                         rule: String = "r1-significant-harm", document: [UInt8]) -> PlannedDelivery {
        PlannedDelivery(destination: destination, partnerType: partnerType, rule: rule, basis: "children-act-s47", format: .json,
                        payload: Array("{\"referralId\":\"\(referralId)\",\"to\":\"\(destination)\",\"referral\":".utf8) + document + [0x7d],
                        contentType: "application/json",
                        idempotencyKey: Digest.idempotencyKey(referralId: referralId, destination: destination),
                        sent: [JSONPointer(tokens: ["child", "name"]), JSONPointer(tokens: ["concern"])],
                        withheld: [JSONPointer(tokens: ["child", "nhsNumber"])], altered: [])
    }

    static func decision(receipt: ReceiptCode = .accepted, deliveries: [PlannedDelivery], priority: DeliveryPriority = .routine,
                         reasons: [String] = [], safetyNet: SafetyNetReason? = nil) -> RoutingDecision {
        RoutingDecision(receipt: receipt, reasons: reasons, safetyNet: safetyNet,
                        rules: [RuleEvaluation(rule: "r1-significant-harm", matched: !deliveries.isEmpty, reason: nil)],
                        deliveries: deliveries,
                        notSent: [NotSent(partnerType: .police, reason: "no rule sends this referral to police")],
                        priority: priority)
    }

    /// An accepted referral with one delivery per destination (none when rejected).
    static func record(agency: String = "school-a", referralId: String = "ref-0001", fromDocument: Bool = true,
                       document: [UInt8]? = nil, receipt: ReceiptCode = .accepted, destinations: [String] = ["la-front-door"],
                       priority: DeliveryPriority = .routine, receivedAt: Timestamp = receivedAt,
                       source: ReferralSource? = nil, issues: [ValidationIssue] = [], reasons: [String] = []) -> IntakeRecord {
        let bytes = document ?? Self.document(referralId: referralId)
        let deliveries = receipt == .rejected ? [] : destinations.map { delivery(referralId: referralId, destination: $0, document: bytes) }
        return IntakeRecord(agency: agency, source: source ?? .folder(name: "\(referralId).json"), contentHash: Digest.sha256(bytes),
                            referralId: referralId, referralIdFromDocument: fromDocument, receivedAt: receivedAt, document: bytes,
                            decision: decision(receipt: receipt, deliveries: deliveries, priority: priority, reasons: reasons),
                            issues: issues)
    }

    /// A record without a usable `referralId`, named by `ReferralPreparer` itself.
    static func unidentified(agency: String, document: [UInt8], receipt: ReceiptCode = .forwardedInvalid,
                             destinations: [String] = ["la-front-door"]) -> IntakeRecord {
        let (referralId, _) = ReferralPreparer.referralId(in: nil, hash: Digest.sha256(document), agency: agency)
        var record = record(agency: agency, referralId: referralId, fromDocument: false, document: document, receipt: receipt,
                            destinations: destinations, priority: .immediate)
        if receipt == .forwardedInvalid { record.decision.safetyNet = .invalid }
        return record
    }
}

extension IntakeCommitResult {
    /// The stored referral, for `.stored` only.
    var stored: StoredReferral? {
        if case .stored(let stored) = self { return stored }
        return nil
    }

    var conflicting: StoredReferral? {
        if case .conflictingReferralId(let stored, _) = self { return stored }
        return nil
    }

    var conflictIssue: ValidationIssue? {
        if case .conflictingReferralId(_, let issue) = self { return issue }
        return nil
    }

    var duplicateOf: String? {
        if case .duplicateContent(let original) = self { return original }
        return nil
    }
}

extension DeliveryAttemptRecord.Result {
    /// The short code `DestinationWorker` records with a result like this one.
    var typicalCode: String {
        switch self {
        case .delivered: "delivered"
        case .willRetry(_, let error, _): String(error.prefix { $0 != ":" })
        case .deadLettered(_, let status): status.map { "http_\($0)" } ?? "max_attempts"
        }
    }
}
