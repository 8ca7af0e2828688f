import JSONSchema

/// The administrators' declared policy: rules in precedence order, field allow-lists, the safety
/// net, lawful bases and the consent fields. Read from the route files; pure data.
public struct RoutingPolicy: Sendable {
    public var rules: [RouteRule]
    public var fieldPolicies: [FieldPolicy]
    /// Lawful basis id → description recorded with each delivery.
    public var bases: [String: String]
    public var safetyNet: SafetyNet?
    public var consent: ConsentFields
    public var priority: PriorityField
    /// Ranked scales for `at_least` / `at_most`.
    public var orderings: [FieldPath: [String]]
    /// partner type of each destination id (from router.toml), for consent scope and policies.
    public var destinationTypes: [String: PartnerType]
    public var destinationFormats: [String: PayloadFormat]

    /// An `immediate` referral is never only bounced: if invalid or unrouted it still goes here.
    public struct SafetyNet: Sendable {
        public var destination: String
        public var field: FieldPath
        public var values: [JSONValue]
        public var basis: String
    }

    public struct ConsentFields: Sendable {
        public var status: FieldPath
        public var scope: FieldPath
        public var given: JSONValue
        /// The schema's consent rule (an absolute schema location). A referral whose only validation
        /// errors come from it is well formed but lacks consent: CONSENT_REQUIRED, not REJECTED.
        public var schemaRule: String?
    }

    public struct PriorityField: Sendable {
        public var field: FieldPath
        /// Values meaning immediate, then urgent; anything else is routine.
        public var immediate: [JSONValue]
        public var urgent: [JSONValue]
    }

    /// The field policy for a destination: its own, else its partner type's.
    public func fieldPolicy(for destination: String) -> FieldPolicy? {
        if let own = fieldPolicies.first(where: { $0.target == .destination(destination) }) { return own }
        guard let type = destinationTypes[destination] else { return nil }
        return fieldPolicies.first { $0.target == .partnerType(type) }
    }

    public func priority(of referral: JSONValue) -> DeliveryPriority {
        let values = priority.field.values(in: referral)
        if values.contains(where: priority.immediate.contains) { return .immediate }
        if values.contains(where: priority.urgent.contains) { return .urgent }
        return .routine
    }

    func isSafetyNetCase(_ referral: JSONValue) -> Bool {
        guard let safetyNet else { return false }
        return safetyNet.field.values(in: referral).contains(where: safetyNet.values.contains)
    }
}
