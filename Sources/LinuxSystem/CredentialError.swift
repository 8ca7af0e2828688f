/// A secret could not be read. Names the reference and the reason, never the content.
public struct CredentialError: Error, Sendable, CustomStringConvertible {
    /// What the configuration said: "credential:NAME" or an absolute path.
    public var reference: String
    /// Why it could not be read, e.g. "not found" or "not a regular file (fifo)".
    public var reason: String

    public init(reference: String, reason: String) {
        self.reference = reference
        self.reason = reason
    }

    /// For example "secret credential:partner-token: not found".
    public var description: String { "secret \(reference): \(reason)" }
}
