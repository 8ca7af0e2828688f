import FoundationEssentials
import Glibc

/// Secrets from files or systemd credentials (LoadCredential=, SetCredentialEncrypted=).
///
/// Read with the intake rules: FIFOs, sockets and devices are refused without being opened, and
/// so is anything over 64 KiB. A credential (in $CREDENTIALS_DIRECTORY, which systemd fills with
/// regular files) must not be a link; an absolute path the administrator wrote may be one.
public enum Credentials {
    /// The largest secret accepted.
    public static let maximumBytes = 64 * 1024

    /// `reference` is either "credential:NAME" (reads $CREDENTIALS_DIRECTORY/NAME; an error if the
    /// variable is unset) or an absolute file path. One trailing "\n" (or "\r\n") is stripped.
    /// Errors name the reference, never the content.
    public static func read(
        _ reference: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CredentialError) -> [UInt8] {
        let contents: RegularFileContents
        if reference.hasPrefix("credential:") {
            let name = String(reference.dropFirst("credential:".count))
            guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.utf8.contains(0) else {
                throw CredentialError(reference: reference, reason: "the credential name must be a single file name")
            }
            guard let directory = environment["CREDENTIALS_DIRECTORY"], directory.hasPrefix("/") else {
                throw CredentialError(reference: reference, reason: "CREDENTIALS_DIRECTORY is not set to an absolute path (is LoadCredential= configured?)")
            }
            contents = try readFile(named: name, inDirectory: directory, followLinks: false, reference: reference)
        } else if reference.hasPrefix("/") {
            let (directory, name) = FileSystem.split(reference)
            guard !name.isEmpty else {
                throw CredentialError(reference: reference, reason: "the path names a directory")
            }
            contents = try readFile(named: name, inDirectory: directory, followLinks: true, reference: reference)
        } else {
            throw CredentialError(reference: reference, reason: "must be \"credential:NAME\" or an absolute path")
        }
        var bytes = contents.bytes
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        return bytes
    }

    private static func readFile(named name: String, inDirectory directory: String, followLinks: Bool, reference: String) throws(CredentialError) -> RegularFileContents {
        do {
            return try FileSystem.readRegularFile(
                named: name, inDirectory: directory, maxBytes: maximumBytes, followLinks: followLinks, beforeReading: nil
            )
        } catch {
            let reason: String
            switch error {
            case .notFound: reason = "not found"
            case .symbolicLink: reason = "is a symbolic link (a credential must be a regular file)"
            case .notRegularFile(let kind): reason = "not a regular file (\(kind.rawValue))"
            case .tooLarge(_, let limit): reason = "larger than \(limit) bytes"
            case .changedWhileReading: reason = "changed while being read"
            case .system(let systemError): reason = systemError.description
            }
            throw CredentialError(reference: reference, reason: reason)
        }
    }
}
