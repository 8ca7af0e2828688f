import Logging

/// Every event the pipeline logs, as a value: one place decides its level, message and fields.
/// Messages are capitalised sentences ending with a full stop; ERROR means a referral is at risk or
/// an operator must act, WARNING that we recovered (Vector's STYLE.md).
public enum PipelineEvent: Sendable {
    case received(referralId: String, agency: String, outcome: ReceiptCode, priority: DeliveryPriority, deliveries: Int)
    case rejected(referralId: String, agency: String, code: String, issues: Int)
    case duplicate(referralId: String, agency: String)
    case routed(referralId: String, agency: String, destination: String, rule: String)
    case delivered(referralId: String, destination: String, attempt: Int, httpStatus: Int, latencyMilliseconds: Int)
    case retry(referralId: String, destination: String, attempt: Int, httpStatus: Int?, code: String, delayMilliseconds: Int)
    case deadLettered(referralId: String, destination: String, attempt: Int, httpStatus: Int?, code: String)
    case alert(code: String, destination: String?, message: String)

    /// The event type, which the journald edge maps to a fixed MESSAGE_ID.
    public var name: String {
        switch self {
        case .received: "received"
        case .rejected: "rejected"
        case .duplicate: "duplicate"
        case .routed: "routed"
        case .delivered: "delivered"
        case .retry: "retry"
        case .deadLettered: "dead-lettered"
        case .alert: "alert"
        }
    }

    var level: Logger.Level {
        switch self {
        case .received, .delivered: .info
        case .routed: .debug
        case .duplicate, .retry, .rejected: .notice
        case .deadLettered, .alert: .error
        }
    }

    var message: String {
        switch self {
        case .received(_, _, let outcome, _, let deliveries):
            switch outcome {
            case .accepted: "Referral accepted and queued for \(deliveries) \(deliveries == 1 ? "destination" : "destinations")."
            case .forwardedInvalid: "Invalid immediate referral forwarded by the safety net."
            case .forwardedUnrouted: "Unrouted immediate referral forwarded by the safety net."
            case .consentRequired: "Referral returned to the referrer: consent required."
            case .returned: "Referral returned to the referrer."
            case .rejected: "Referral rejected."
            }
        case .rejected: "Referral rejected; the report is in the agency's rejected folder."
        case .duplicate: "Duplicate referral recorded and not queued again."
        case .routed: "Delivery queued."
        case .delivered: "Referral delivered."
        case .retry: "Delivery failed; it will be retried."
        case .deadLettered: "Delivery abandoned; an operator must act."
        case .alert(_, _, let message): message
        }
    }

    var metadata: Logger.Metadata {
        var fields: Logger.Metadata = [LogKey.event: .string(name)]
        switch self {
        case .received(let referralId, let agency, let outcome, let priority, let deliveries):
            fields[LogKey.referralId] = .string(referralId)
            fields[LogKey.agency] = .string(agency)
            fields[LogKey.outcome] = .string(outcome.rawValue)
            fields["priority"] = .string(priority.name)
            fields[LogKey.count] = .stringConvertible(deliveries)
        case .rejected(let referralId, let agency, let code, let issues):
            fields[LogKey.referralId] = .string(referralId)
            fields[LogKey.agency] = .string(agency)
            fields[LogKey.outcome] = .string("REJECTED")
            fields[LogKey.code] = .string(code)
            fields[LogKey.count] = .stringConvertible(issues)
        case .duplicate(let referralId, let agency):
            fields[LogKey.referralId] = .string(referralId)
            fields[LogKey.agency] = .string(agency)
            fields[LogKey.outcome] = .string("duplicate")
        case .routed(let referralId, let agency, let destination, let rule):
            fields[LogKey.referralId] = .string(referralId)
            fields[LogKey.agency] = .string(agency)
            fields[LogKey.destination] = .string(destination)
            fields[LogKey.rule] = .string(rule)
            fields[LogKey.outcome] = .string("queued")
        case .delivered(let referralId, let destination, let attempt, let status, let latency):
            fields[LogKey.referralId] = .string(referralId)
            fields[LogKey.destination] = .string(destination)
            fields[LogKey.attempt] = .stringConvertible(attempt)
            fields[LogKey.httpStatus] = .stringConvertible(status)
            fields[LogKey.latencyMilliseconds] = .stringConvertible(latency)
            fields[LogKey.outcome] = .string("delivered")
        case .retry(let referralId, let destination, let attempt, let status, let code, let delay):
            fields[LogKey.referralId] = .string(referralId)
            fields[LogKey.destination] = .string(destination)
            fields[LogKey.attempt] = .stringConvertible(attempt)
            if let status { fields[LogKey.httpStatus] = .stringConvertible(status) }
            fields[LogKey.code] = .string(code)
            fields[LogKey.delayMilliseconds] = .stringConvertible(delay)
            fields[LogKey.outcome] = .string("retry")
        case .deadLettered(let referralId, let destination, let attempt, let status, let code):
            fields[LogKey.referralId] = .string(referralId)
            fields[LogKey.destination] = .string(destination)
            fields[LogKey.attempt] = .stringConvertible(attempt)
            if let status { fields[LogKey.httpStatus] = .stringConvertible(status) }
            fields[LogKey.code] = .string(code)
            fields[LogKey.outcome] = .string("dead-lettered")
        case .alert(let code, let destination, _):
            fields[LogKey.code] = .string(code)
            if let destination { fields[LogKey.destination] = .string(destination) }
        }
        return fields
    }
}

extension Logger {
    /// Logs a pipeline event with its fixed level, message and fields.
    public func record(_ event: PipelineEvent) {
        log(level: event.level, "\(event.message)", metadata: event.metadata)
    }
}
