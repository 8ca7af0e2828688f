import JSONSchema

/// An audit event rendered for the chain: its detail text and the canonical bytes up to its `seq`.
/// Rendering happens before the write transaction, off the single writer; inside it, appending costs
/// one hash and one insert.
struct RenderedAuditEvent: Sendable {
    private(set) var event: AuditEvent
    let detailText: String
    let canonicalPrefix: [UInt8]

    init(_ event: AuditEvent) {
        self.event = event
        detailText = JSONValue.object(event.detail).jsonText(sortedKeys: true)
        canonicalPrefix = AuditChain.canonicalPrefix(
            at: event.at, event: event.kind.rawValue, referralId: event.referralId, agency: event.agency,
            destination: event.destination, rule: event.rule, outcome: event.outcome, detailText: detailText)
    }

    /// The same event about a referral row (a look-up aid, outside the chain's hashed content, so it
    /// may be set after rendering: the row is known only inside the transaction).
    func about(referralRow: Int64) -> RenderedAuditEvent {
        var copy = self
        copy.event.referralRow = referralRow
        return copy
    }
}
