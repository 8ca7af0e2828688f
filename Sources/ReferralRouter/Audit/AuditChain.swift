import Crypto
import JSONSchema

/// The tamper-evident part of the audit: every event's hash covers its content and the previous
/// event's hash, so an edited, inserted or deleted row breaks the chain from that point on. With an
/// HMAC key (a systemd credential the database's owner cannot read back from the database), a
/// rewriter cannot forge a consistent chain either.
public struct AuditChain: Sendable {
    private let key: SymmetricKey?

    public init(key: [UInt8]?) {
        self.key = key.map { SymmetricKey(data: $0) }
    }

    public var isKeyed: Bool { key != nil }

    /// The hash before the first event.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The canonical bytes hashed for an event: sorted-key JSON of every stored column, with the
    /// detail as the exact text stored (so verification never depends on re-serialising it).
    static func canonicalBytes(seq: Int64, at: Timestamp, event: String, referralId: String?, agency: String?,
                               destination: String?, rule: String?, outcome: String?, detailText: String) -> [UInt8] {
        var object = JSONObject()
        object["seq"] = .number(JSONNumber(Int(seq)))
        object["at"] = .number(JSONNumber(Int(at.millisecondsSinceEpoch)))
        object["event"] = .string(event)
        object["referralId"] = referralId.map(JSONValue.string) ?? .null
        object["agency"] = agency.map(JSONValue.string) ?? .null
        object["destination"] = destination.map(JSONValue.string) ?? .null
        object["rule"] = rule.map(JSONValue.string) ?? .null
        object["outcome"] = outcome.map(JSONValue.string) ?? .null
        object["detail"] = .string(detailText)
        return JSONValue.object(object).serialized(sortedKeys: true)
    }

    func hash(previous: [UInt8], canonical: [UInt8]) -> [UInt8] {
        if let key {
            var hmac = HMAC<SHA256>(key: key)
            hmac.update(data: previous)
            hmac.update(data: canonical)
            return Array(hmac.finalize())
        }
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: canonical)
        return Array(hasher.finalize())
    }
}

/// The result of walking the chain.
public struct AuditVerification: Sendable, CustomStringConvertible {
    public var eventsChecked: Int
    /// The first sequence number whose hash does not match, if any.
    public var firstBrokenSeq: Int64?
    public var headHash: String
    public var keyed: Bool

    public var isIntact: Bool { firstBrokenSeq == nil }

    public var description: String {
        if let broken = firstBrokenSeq {
            return "Audit chain BROKEN at event \(broken) (\(eventsChecked) events checked)."
        }
        return "Audit chain intact: \(eventsChecked) events, head \(headHash)\(keyed ? " (HMAC-keyed)" : "")."
    }
}
