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

    /// The canonical bytes hashed for an event: sorted-key JSON of every hashed column, with the
    /// detail as the exact text stored (so verification never depends on re-serialising it).
    static func canonicalBytes(seq: Int64, at: Timestamp, event: String, referralId: String?, agency: String?,
                               destination: String?, rule: String?, outcome: String?, detailText: String) -> [UInt8] {
        canonicalPrefix(at: at, event: event, referralId: referralId, agency: agency, destination: destination,
                        rule: rule, outcome: outcome, detailText: detailText) + canonicalSuffix(seq: seq)
    }

    /// The canonical bytes of an event up to its `seq` value: `"seq"` sorts last, so the canonical
    /// bytes are this prefix and `canonicalSuffix`. An event is rendered ahead of the write
    /// transaction with this; only its place in the chain is left for the single writer.
    static func canonicalPrefix(at: Timestamp, event: String, referralId: String?, agency: String?,
                                destination: String?, rule: String?, outcome: String?, detailText: String) -> [UInt8] {
        var object = JSONObject()
        object["at"] = .number(JSONNumber(Int(at.millisecondsSinceEpoch)))
        object["event"] = .string(event)
        object["referralId"] = referralId.map(JSONValue.string) ?? .null
        object["agency"] = agency.map(JSONValue.string) ?? .null
        object["destination"] = destination.map(JSONValue.string) ?? .null
        object["rule"] = rule.map(JSONValue.string) ?? .null
        object["outcome"] = outcome.map(JSONValue.string) ?? .null
        object["detail"] = .string(detailText)
        var bytes = JSONValue.object(object).serialized(sortedKeys: true)
        bytes.removeLast()  // the closing brace: the object always has members, so it ends with `}`
        bytes.append(contentsOf: #","seq":"#.utf8)
        return bytes
    }

    /// The rest of the canonical bytes: the decimal `seq` and the closing brace.
    static func canonicalSuffix(seq: Int64) -> [UInt8] {
        Array("\(seq)}".utf8)
    }

    /// The hash of an event rendered with `canonicalPrefix`, at `seq`.
    func hash(previous: [UInt8], canonicalPrefix: [UInt8], seq: Int64) -> [UInt8] {
        hash(previous, canonicalPrefix, Self.canonicalSuffix(seq: seq))
    }

    func hash(previous: [UInt8], canonical: [UInt8]) -> [UInt8] {
        hash(previous, canonical)
    }

    /// HMAC-SHA256 with the key, else SHA-256, over the parts in order.
    private func hash(_ parts: [UInt8]...) -> [UInt8] {
        if let key {
            var hmac = HMAC<SHA256>(key: key)
            for part in parts { hmac.update(data: part) }
            return Array(hmac.finalize())
        }
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
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
