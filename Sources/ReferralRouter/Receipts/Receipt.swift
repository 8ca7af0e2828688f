import JSONSchema

/// What the sending agency reads in `receipts/<agency>/<referralId>.json`: accepted or not (with
/// the reasons), then each destination's status. Rendered from the store, so it is always a view
/// of committed state and can be rebuilt at any time.
enum Receipt {
    static let version = 1

    static func render(_ snapshot: ReceiptSnapshot, updatedAt: Timestamp) -> JSONValue {
        var object = JSONObject()
        object["receiptVersion"] = .number(JSONNumber(version))
        object["referralId"] = .string(snapshot.referralId)
        object["agency"] = .string(snapshot.agency)
        object["source"] = .string(snapshot.sourceName)
        object["receivedAt"] = .string(snapshot.receivedAt.rfc3339)
        object["status"] = .string(snapshot.receipt.rawValue)
        object["message"] = .string(message(for: snapshot))
        object["reasons"] = .array(snapshot.reasons.map(JSONValue.string))
        object["errors"] = .array(snapshot.issues.map(\.json))
        object["safetyNet"] = snapshot.safetyNet.map(JSONValue.string) ?? .null
        object["destinations"] = .array(snapshot.destinations.map { destination in
            var entry = JSONObject()
            entry["destination"] = .string(destination.destination)
            entry["partnerType"] = .string(destination.partnerType)
            entry["status"] = .string(status(of: destination.state))
            entry["attempts"] = .number(JSONNumber(destination.attempts))
            entry["deliveredAt"] = destination.deliveredAt.map { .string($0.rfc3339) } ?? .null
            entry["lastError"] = destination.lastError.map(JSONValue.string) ?? .null
            return .object(entry)
        })
        object["updatedAt"] = .string(updatedAt.rfc3339)
        return .object(object)
    }

    /// queued, delivered or failed (dead-lettered: an operator has been alerted).
    static func status(of state: String) -> String {
        switch state {
        case "delivered": "delivered"
        case "dead": "failed"
        default: "queued"
        }
    }

    static func message(for snapshot: ReceiptSnapshot) -> String {
        switch snapshot.receipt {
        case .accepted:
            let total = snapshot.destinations.count
            let delivered = snapshot.destinations.filter { $0.state == "delivered" }.count
            let failed = snapshot.destinations.filter { $0.state == "dead" }.count
            if failed > 0 { return "Accepted. \(failed) of \(total) deliveries failed; the router's operators have been alerted." }
            if delivered == total { return "Accepted and delivered to every partner that should receive it." }
            return "Accepted. Delivered to \(delivered) of \(total) partners so far; the rest are queued and will be retried until delivered."
        case .consentRequired:
            return "Not sent: this referral needs the family's consent. See reasons."
        case .returned:
            return "Not sent: returned to you. See reasons."
        case .rejected:
            return "Rejected: the referral was not accepted. Correct the errors listed and send it again."
        case .forwardedInvalid:
            return "Forwarded as invalid: the referral failed validation but is marked immediate, so it was sent whole to the safety-net destination listed below. Correct the errors and resubmit under the same referralId."
        case .forwardedUnrouted:
            return "Forwarded as unrouted: no routing rule matched, but the referral is marked immediate, so it was sent whole to the safety-net destination listed below."
        }
    }
}
