import JSONSchema

/// Everything routing decided for one referral: what is sent where and why, what is withheld,
/// and what the referrer is told. Stored, audited and shown by `route` dry runs.
public struct RoutingDecision: Sendable {
    public var receipt: ReceiptCode
    /// Plain reasons for the referrer when nothing (or only the safety net) was sent.
    public var reasons: [String]
    public var safetyNet: SafetyNetReason?
    public var rules: [RuleEvaluation]
    public var deliveries: [PlannedDelivery]
    public var notSent: [NotSent]
    public var priority: DeliveryPriority
}

public enum SafetyNetReason: String, Sendable, Hashable {
    /// Failed validation but readable, and urgent enough that it must not be only bounced.
    case invalid
    /// Valid but no rule sent it anywhere.
    case unrouted
}

public struct RuleEvaluation: Sendable, Hashable {
    public var rule: String
    public var matched: Bool
    /// Why it did not hold, or why holding changed nothing.
    public var reason: String?
}

/// One delivery decided at routing time. The payload is fixed here: retries resend these bytes
/// and a reload never changes what a queued delivery carries.
public struct PlannedDelivery: Sendable {
    public var destination: String
    public var partnerType: PartnerType
    public var rule: String
    public var basis: String
    public var format: PayloadFormat
    public var payload: [UInt8]
    public var contentType: String
    public var idempotencyKey: String
    /// Paths only, never values.
    public var sent: [JSONPointer]
    public var withheld: [JSONPointer]
    public var altered: [JSONPointer]
}

public struct NotSent: Sendable, Hashable {
    public var partnerType: PartnerType
    public var reason: String
}
