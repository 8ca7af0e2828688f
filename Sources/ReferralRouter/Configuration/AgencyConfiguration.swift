/// `[[agency]]`: an organisation that drops referrals into its own inbound folder (and, with
/// `[agency.mesh]`, sends them to an NHS MESH mailbox the router drains).
public struct AgencyConfiguration: Sendable, Hashable {
    /// Stable identifier used in folder names, logs and audit: lower-case letters, digits and `-`.
    public var id: String
    /// Human description (an organisation, never a person).
    public var description: String
    /// Absolute paths, resolved against the spool directory.
    public var inboundDirectory: String
    public var receiptsDirectory: String
    public var rejectedDirectory: String
    /// `[agency.mesh]`: a MESH mailbox drained as a second intake for this agency, if any.
    public var mesh: MESHMailboxConfiguration? = nil
}

enum Identifier {
    /// Identifiers appear in paths, log fields and headers, so they are kept to a safe alphabet.
    static func isValid(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 64 else { return false }
        guard ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    static let rule = "lower-case letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters"
}
