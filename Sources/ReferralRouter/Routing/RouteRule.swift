/// One routing rule: when its condition holds, it sends to destinations or returns the referral.
public struct RouteRule: Sendable {
    public enum Action: Sendable {
        /// Send to `destinations`; also to each of `consentScoped` whose partner type is in the
        /// referral's consent scope. With `requiresConsent`, nothing is sent unless consent is given.
        case send(destinations: [String], consentScoped: [String], requiresConsent: Bool)
        /// Send nothing; tell the referrer why. Never overrides a send chosen by an earlier rule.
        case returnToReferrer(code: ReceiptCode, reason: String)
    }

    public var name: String
    public var title: String
    public var condition: Condition
    public var action: Action
    /// The lawful basis recorded for what this rule sends (an id declared under `[basis.*]`).
    public var basis: String
    /// Stop evaluating later rules once this one holds.
    public var stop: Bool
    /// What the referrer is told when a consent-gated rule finds no consent.
    public var consentReason: String?
    /// Where the rule is defined, for messages.
    public var location: String

    var destinationIDs: [String] {
        switch action {
        case .send(let destinations, let scoped, _): destinations + scoped
        case .returnToReferrer: []
        }
    }
}

/// What the referrer is told about their referral.
public enum ReceiptCode: String, Sendable, Hashable, CaseIterable, Codable {
    case accepted = "ACCEPTED"
    case consentRequired = "CONSENT_REQUIRED"
    case returned = "RETURNED"
    case rejected = "REJECTED"
    case forwardedInvalid = "FORWARDED_INVALID"
    case forwardedUnrouted = "FORWARDED_UNROUTED"
}

/// Delivery order: immediate before urgent before routine, whatever the backlog.
public enum DeliveryPriority: Int, Sendable, Hashable, Comparable, CaseIterable {
    case immediate = 0
    case urgent = 1
    case routine = 2

    public static func < (lhs: DeliveryPriority, rhs: DeliveryPriority) -> Bool { lhs.rawValue < rhs.rawValue }

    public var name: String {
        switch self {
        case .immediate: "immediate"
        case .urgent: "urgent"
        case .routine: "routine"
        }
    }
}
