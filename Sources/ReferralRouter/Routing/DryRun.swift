import JSONSchema

/// What `referral-router route` shows for one file: the decision the daemon would take, with the
/// exact payloads. The JSON form is a stable contract for scripts (docs/configuration.md, "Dry runs").
public struct DryRun: Sendable {
    public var file: String
    public var referralId: String
    public var valid: Bool
    public var decision: RoutingDecision

    public init(file: String, bytes: [UInt8], agency: String, configuration: RouterConfiguration, at time: Timestamp = .now()) {
        let preparer = ReferralPreparer(schema: configuration.schema, router: Router(policy: configuration.routing))
        let record = preparer.prepare(bytes: bytes, agency: agency, source: .folder(name: file), receivedAt: time)
        self.file = file
        self.referralId = record.referralId
        self.valid = record.issues.isEmpty
        self.decision = record.decision
    }

    /// Routed to at least one destination.
    public var isRouted: Bool { !decision.deliveries.isEmpty }

    public var json: JSONValue {
        var object = JSONObject()
        object["file"] = .string(file)
        object["referralId"] = .string(referralId)
        object["valid"] = .bool(valid)
        object["safetyNet"] = decision.safetyNet.map { .string($0.rawValue) } ?? .null
        object["rules"] = .array(decision.rules.map { evaluation in
            var rule: JSONObject = ["rule": .string(evaluation.rule), "matched": .bool(evaluation.matched)]
            if let reason = evaluation.reason { rule["reason"] = .string(reason) }
            return .object(rule)
        })
        object["deliveries"] = .array(decision.deliveries.map { delivery in
            let payload = (try? JSONDocument(parsing: delivery.payload).root) ?? .null
            return [
                "destination": .string(delivery.destination),
                "partnerType": .string(delivery.partnerType.rawValue),
                "rule": .string(delivery.rule),
                "basis": .string(delivery.basis),
                "format": .string(delivery.format.rawValue),
                "idempotencyKey": .string(delivery.idempotencyKey),
                "payload": payload,
                "withheld": .array(delivery.withheld.map { .string($0.description) }),
                "altered": .array(delivery.altered.map { .string($0.description) }),
            ]
        })
        object["notSent"] = .array(decision.notSent.map { ["partnerType": .string($0.partnerType.rawValue), "reason": .string($0.reason)] })
        object["receipt"] = ["code": .string(decision.receipt.rawValue), "reasons": .array(decision.reasons.map(JSONValue.string))]
        return .object(object)
    }

    /// The human-readable report.
    public var text: String {
        var lines = ["\(file): \(decision.receipt.rawValue) (referral \(referralId), \(valid ? "valid" : "invalid"), priority \(decision.priority.name))"]
        if let net = decision.safetyNet { lines.append("  safety net applied: \(net.rawValue)") }
        for reason in decision.reasons { lines.append("  reason: \(reason)") }
        for rule in decision.rules {
            lines.append("  rule \(rule.rule): \(rule.matched ? "matched" : "did not match")\(rule.reason.map { " — \($0)" } ?? "")")
        }
        for delivery in decision.deliveries {
            lines.append("  → \(delivery.destination) (\(delivery.partnerType.rawValue), \(delivery.format.rawValue)) by \(delivery.rule), basis \(delivery.basis)")
            lines.append("    withheld: \(delivery.withheld.isEmpty ? "nothing" : delivery.withheld.map(\.description).joined(separator: ", "))")
            if !delivery.altered.isEmpty { lines.append("    shortened or mapped: \(delivery.altered.map(\.description).joined(separator: ", "))") }
            let payload = (try? JSONDocument(parsing: delivery.payload).root.jsonText(pretty: true)) ?? "<unparseable>"
            lines.append(contentsOf: payload.split(separator: "\n").map { "    | \($0)" })
        }
        for notSent in decision.notSent { lines.append("  not sent to \(notSent.partnerType.rawValue): \(notSent.reason)") }
        return lines.joined(separator: "\n")
    }
}
