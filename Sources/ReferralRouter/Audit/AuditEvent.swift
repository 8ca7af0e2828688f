import JSONSchema

/// One decision or happening, recorded for ever (golden rule 7: what was shared, with whom, why).
/// Holds identifiers, codes and JSON-pointer paths only — never a field's value.
public struct AuditEvent: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case received
        case rejected
        case duplicate
        case routed
        case returned
        case safetyNet = "safety-net"
        case delivered
        case retry
        case deadLettered = "dead-lettered"
        /// An operator put dead-lettered deliveries back in the queue.
        case requeued
        case configurationLoaded = "configuration-loaded"
        case alert
    }

    public var kind: Kind
    public var at: Timestamp
    public var referralId: String?
    public var agency: String?
    public var destination: String?
    public var rule: String?
    public var outcome: String?
    /// A JSON object of codes and paths.
    public var detail: JSONObject
    /// The referral's row in the store, when the event concerns one: the audit's indexed `referral`
    /// column, so that a referral's history is found without an index on random text ids. It is a
    /// look-up aid, not part of the hashed content (`referralId` is).
    public var referralRow: Int64?

    public init(kind: Kind, at: Timestamp, referralId: String? = nil, agency: String? = nil, destination: String? = nil,
                rule: String? = nil, outcome: String? = nil, detail: JSONObject = JSONObject(), referralRow: Int64? = nil) {
        self.kind = kind
        self.at = at
        self.referralId = referralId
        self.agency = agency
        self.destination = destination
        self.rule = rule
        self.outcome = outcome
        self.detail = detail
        self.referralRow = referralRow
    }
}

extension AuditEvent {
    /// The events that record an intake decision: what arrived and why each partner type was not sent
    /// to (one event), then each delivery queued with the fields sent and withheld.
    static func intake(_ record: IntakeRecord) -> [AuditEvent] {
        let decision = record.decision
        var received = JSONObject()
        received["source"] = .string(record.source.kind)
        received["sha256"] = .string(Digest.hex(record.contentHash))
        received["bytes"] = .number(JSONNumber(record.document.count))
        received["priority"] = .string(decision.priority.name)
        received["rules"] = .array(decision.rules.map { ["rule": .string($0.rule), "matched": .bool($0.matched)] })
        if !record.issues.isEmpty {
            // The schema location and keyword say what failed. The instance pointer is not kept: for a key
            // the schema forbids it is built from whatever the agency typed as that key.
            received["issues"] = .array(record.issues.map { issue in
                ["keyword": .string(issue.keyword), "schemaLocation": issue.schemaLocation.map(JSONValue.string) ?? .null]
            })
        }
        if let net = decision.safetyNet { received["safetyNet"] = .string(net.rawValue) }
        // Why each partner type was not sent to, in the decision's own event (one row, not one per type).
        if decision.receipt != .rejected, !decision.notSent.isEmpty {
            received["notSent"] = .array(decision.notSent.map { ["partnerType": .string($0.partnerType.rawValue), "reason": .string($0.reason)] })
        }
        var events = [AuditEvent(kind: decision.receipt == .rejected ? .rejected : .received, at: record.receivedAt,
                                 referralId: record.referralId, agency: record.agency, outcome: decision.receipt.rawValue,
                                 detail: received)]
        for delivery in decision.deliveries {
            var detail = JSONObject()
            detail["partnerType"] = .string(delivery.partnerType.rawValue)
            detail["basis"] = .string(delivery.basis)
            detail["format"] = .string(delivery.format.rawValue)
            detail["idempotencyKey"] = .string(delivery.idempotencyKey)
            detail["sent"] = .array(delivery.sent.map { .string($0.description) })
            detail["withheld"] = .array(delivery.withheld.map { .string($0.description) })
            if !delivery.altered.isEmpty { detail["altered"] = .array(delivery.altered.map { .string($0.description) }) }
            if let net = decision.safetyNet { detail["safetyNet"] = .string(net.rawValue) }
            events.append(AuditEvent(kind: decision.safetyNet == nil ? .routed : .safetyNet, at: record.receivedAt,
                                     referralId: record.referralId, agency: record.agency, destination: delivery.destination,
                                     rule: delivery.rule, outcome: "queued", detail: detail))
        }
        if decision.receipt == .returned || decision.receipt == .consentRequired {
            events.append(AuditEvent(kind: .returned, at: record.receivedAt, referralId: record.referralId, agency: record.agency,
                                     outcome: decision.receipt.rawValue))
        }
        return events
    }
}
