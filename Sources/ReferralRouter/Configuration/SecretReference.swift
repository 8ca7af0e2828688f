import LinuxSystem

/// Where a secret lives: `credential:NAME` (systemd `LoadCredential=`, read from
/// `$CREDENTIALS_DIRECTORY`) or an absolute file path. Configuration holds only the reference;
/// the value is read at start-up and never logged.
public struct SecretReference: Sendable, Hashable, CustomStringConvertible {
    public var reference: String

    /// Accepts only the two reference forms, so a pasted secret in a route file is refused.
    public init?(_ text: String) {
        if text.hasPrefix("credential:") {
            let name = text.dropFirst("credential:".count)
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        } else if !text.hasPrefix("/") {
            return nil
        }
        reference = text
    }

    public var description: String { reference }

    /// Reads the secret's bytes (one trailing newline stripped).
    public func read(environment: [String: String]) throws(CredentialError) -> [UInt8] {
        try Credentials.read(reference, environment: environment)
    }
}

extension ConfigTable {
    /// A key holding a secret reference; a value that is not a reference is refused without echoing it.
    func secretReference(_ key: String) -> SecretReference? {
        guard let text = string(key) else { return nil }
        guard let reference = SecretReference(text) else {
            problem(key, "must name where the secret is kept (credential:NAME or an absolute file path), never the secret itself")
            return nil
        }
        return reference
    }
}
