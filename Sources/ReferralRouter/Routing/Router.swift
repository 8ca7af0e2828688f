import JSONSchema

/// What routing needs to know about one referral.
public struct RoutingInput: Sendable {
    public var referral: JSONValue
    public var referralId: String
    public var sourceAgency: String
    /// Empty when the referral is valid.
    public var validationIssues: [ValidationIssue]
    public var routedAt: Timestamp
    /// SHA-256 of the referral's bytes: part of each delivery's idempotency key.
    public var contentHash: [UInt8]

    public init(referral: JSONValue, referralId: String, sourceAgency: String, validationIssues: [ValidationIssue], routedAt: Timestamp,
                contentHash: [UInt8] = []) {
        self.referral = referral
        self.referralId = referralId
        self.sourceAgency = sourceAgency
        self.validationIssues = validationIssues
        self.routedAt = routedAt
        self.contentHash = contentHash
    }
}

/// Applies a `RoutingPolicy` to a referral. Pure: the same input and policy give the same decision.
///
/// Semantics (docs/configuration.md, "Routing"):
/// - rules run in declared precedence; every sending rule that holds adds its destinations, and the
///   first rule to reach a destination is the one recorded for it (and so its lawful basis);
/// - `stop` ends evaluation once the rule holds;
/// - a returning rule sends nothing, and never overrides a send already chosen;
/// - a consent-gated rule whose consent is not given returns the referral (CONSENT_REQUIRED);
/// - a referral that matches the safety net (urgency immediate) is never only bounced: invalid or
///   unrouted, it still goes whole to the safety-net destination, flagged.
public struct Router: Sendable {
    public var policy: RoutingPolicy

    public init(policy: RoutingPolicy) {
        self.policy = policy
    }

    public func route(_ input: RoutingInput) -> RoutingDecision {
        let priority = policy.priority(of: input.referral)
        guard input.validationIssues.isEmpty else {
            if policy.isSafetyNetCase(input.referral) {
                return safetyNetDecision(input, reason: .invalid, rules: [], priority: priority,
                                         reasons: ["The referral failed validation; because it is marked immediate it was still forwarded, whole, to the safety-net destination (\(policy.safetyNet?.destination ?? "none")). Please correct it and resubmit under the same referralId."])
            }
            if let rule = policy.consent.schemaRule,
               input.validationIssues.allSatisfy({ $0.schemaLocation?.hasPrefix(rule) == true }) {
                return consentRequired(input, priority: priority)
            }
            return RoutingDecision(receipt: .rejected, reasons: input.validationIssues.map(\.message), safetyNet: nil,
                                   rules: [], deliveries: [], notSent: allNotSent(reason: "the referral was rejected: it failed validation"),
                                   priority: priority)
        }

        var context = ConditionContext(referral: input.referral, matchedRules: [], orderings: policy.orderings)
        var evaluations: [RuleEvaluation] = []
        var assigned: [(destination: String, rule: RouteRule)] = []
        var returned: (code: ReceiptCode, reason: String, rule: String)?
        var notSentReasons: [PartnerType: String] = [:]
        var stoppedBy: String?

        for rule in policy.rules {
            if let stopper = stoppedBy {
                evaluations.append(RuleEvaluation(rule: rule.name, matched: false, reason: "not evaluated: rule \(stopper) stops evaluation"))
                continue
            }
            if let why = rule.condition.explain(in: context) {
                evaluations.append(RuleEvaluation(rule: rule.name, matched: false, reason: why))
                continue
            }
            context.matchedRules.insert(rule.name)
            var note: String?
            switch rule.action {
            case .returnToReferrer(let code, let reason):
                if !assigned.isEmpty {
                    note = "held, but a return never overrides what earlier rules send"
                } else if returned == nil {
                    returned = (code, reason, rule.name)
                }
            case .send(let destinations, let scoped, let requiresConsent):
                if let earlier = returned {
                    note = "held, but the referral was already returned by rule \(earlier.rule)"
                    break
                }
                if requiresConsent, !consentGiven(input.referral) {
                    if assigned.isEmpty {
                        returned = (.consentRequired, rule.reasonText ?? "Consent is required for this referral but has not been given.", rule.name)
                    } else {
                        note = "held, but consent is not given; earlier rules' sends stand"
                    }
                    stoppedBy = rule.name
                    break
                }
                for id in destinations where !assigned.contains(where: { $0.destination == id }) {
                    assigned.append((id, rule))
                }
                let scope = Set(policy.consent.scope.values(in: input.referral).flatMap { $0.arrayValue ?? [$0] }.compactMap(\.stringValue))
                for id in scoped where !assigned.contains(where: { $0.destination == id }) {
                    guard let type = policy.destinationTypes[id] else { continue }
                    if scope.contains(type.rawValue) {
                        assigned.append((id, rule))
                    } else {
                        notSentReasons[type] = "\(type.rawValue) is not in the consent scope (rule \(rule.name))"
                    }
                }
            }
            evaluations.append(RuleEvaluation(rule: rule.name, matched: true, reason: note))
            if rule.stop, stoppedBy == nil { stoppedBy = rule.name }
        }

        if assigned.isEmpty {
            let reason = returned?.reason ?? "No routing rule matched this referral, so it has not been sent to anyone."
            if policy.isSafetyNetCase(input.referral) {
                return safetyNetDecision(input, reason: .unrouted, rules: evaluations, priority: priority,
                                         reasons: [reason, "Because it is marked immediate it was still forwarded, whole, to the safety-net destination (\(policy.safetyNet?.destination ?? "none"))."])
            }
            let code = returned?.code ?? .returned
            return RoutingDecision(receipt: code, reasons: [reason], safetyNet: nil, rules: evaluations, deliveries: [],
                                   notSent: allNotSent(reason: "returned to the referrer (\(code.rawValue)): \(reason)"), priority: priority)
        }

        var deliveries: [PlannedDelivery] = []
        for (id, rule) in assigned {
            guard let delivery = plan(input, destination: id, rule: rule.name, basis: rule.basis, safetyNet: nil, whole: false) else { continue }
            deliveries.append(delivery)
        }
        let reached = Set(deliveries.map(\.partnerType))
        let notSent = PartnerType.allCases.filter { !reached.contains($0) }.map {
            NotSent(partnerType: $0, reason: notSentReasons[$0] ?? "no rule that held selects the \($0.rawValue) partner type")
        }
        return RoutingDecision(receipt: .accepted, reasons: [], safetyNet: nil, rules: evaluations, deliveries: deliveries,
                               notSent: notSent, priority: priority)
    }

    /// Well formed, but the schema's consent rule failed: the consent gate's answer, not a rejection.
    private func consentRequired(_ input: RoutingInput, priority: DeliveryPriority) -> RoutingDecision {
        let gate = policy.rules.first { rule in
            if case .send(_, _, true) = rule.action { return true }
            return false
        }
        let reason = gate?.consentReason ?? "This referral is consent-based (early help or child in need without suspected significant harm) and needs the family's consent, given, with a scope."
        let evaluations = gate.map { [RuleEvaluation(rule: $0.name, matched: true, reason: "consent is not given")] } ?? []
        return RoutingDecision(receipt: .consentRequired, reasons: [reason] + input.validationIssues.map(\.message), safetyNet: nil,
                               rules: evaluations, deliveries: [],
                               notSent: allNotSent(reason: "consent required: nothing is sent without the family's consent"), priority: priority)
    }

    private func consentGiven(_ referral: JSONValue) -> Bool {
        policy.consent.status.values(in: referral).contains(policy.consent.given)
    }

    private func allNotSent(reason: String) -> [NotSent] {
        PartnerType.allCases.map { NotSent(partnerType: $0, reason: reason) }
    }

    private func safetyNetDecision(_ input: RoutingInput, reason: SafetyNetReason, rules: [RuleEvaluation],
                                   priority: DeliveryPriority, reasons: [String]) -> RoutingDecision {
        guard let net = policy.safetyNet,
              let delivery = plan(input, destination: net.destination, rule: "safety-net", basis: net.basis, safetyNet: reason, whole: true)
        else {
            // Unreachable with a checked configuration (a safety net is required); fail closed and visible.
            return RoutingDecision(receipt: .rejected, reasons: reasons + ["No safety-net destination is configured."], safetyNet: nil,
                                   rules: rules, deliveries: [], notSent: allNotSent(reason: "no safety net configured"), priority: priority)
        }
        let code: ReceiptCode = reason == .invalid ? .forwardedInvalid : .forwardedUnrouted
        let notSent = PartnerType.allCases.filter { $0 != delivery.partnerType }.map {
            NotSent(partnerType: $0, reason: "only the safety net applied (\(reason.rawValue))")
        }
        return RoutingDecision(receipt: code, reasons: reasons, safetyNet: reason, rules: rules, deliveries: [delivery],
                               notSent: notSent, priority: priority)
    }

    /// Projects and renders the payload for one destination. The safety net sends the referral whole.
    private func plan(_ input: RoutingInput, destination: String, rule: String, basis: String,
                      safetyNet: SafetyNetReason?, whole: Bool) -> PlannedDelivery? {
        let priority = policy.priority(of: input.referral)
        guard let type = policy.destinationTypes[destination] else { return nil }
        let format = policy.destinationFormats[destination] ?? .json
        let projection: Projection
        if whole {
            projection = Projection(value: input.referral, sent: [.root], withheld: [], altered: [])
        } else {
            guard let fieldPolicy = policy.fieldPolicy(for: destination) else { return nil }   // checked at load: fail closed
            projection = fieldPolicy.project(input.referral)
        }
        let key = Digest.idempotencyKey(referralId: input.referralId, destination: destination, contentHash: input.contentHash)
        let envelope = PayloadEnvelope(referralId: input.referralId, routedAt: input.routedAt, rule: rule, basis: basis,
                                       basisDescription: policy.bases[basis], sourceAgency: input.sourceAgency,
                                       idempotencyKey: key, destination: destination, safetyNet: safetyNet,
                                       validationIssues: safetyNet == .invalid ? input.validationIssues : [], priority: priority)
        let payload = PayloadRenderer.render(format: format, referral: projection.value, envelope: envelope)
        return PlannedDelivery(destination: destination, partnerType: type, rule: rule, basis: basis, format: format,
                               payload: payload, contentType: format.contentType, idempotencyKey: key,
                               sent: projection.sent, withheld: projection.withheld, altered: projection.altered)
    }
}

extension RouteRule {
    var reasonText: String? {
        if case .returnToReferrer(_, let reason) = action { return reason }
        return consentReason
    }
}
