import Curl
import LinuxSystem

/// The secrets of one `[agency.mesh]` mailbox, read from files or `$CREDENTIALS_DIRECTORY` like a
/// destination's, at start-up and on reload. Values are `Secret`s: never printed, never logged.
struct MESHMailboxCredentials: Sendable, Hashable {
    var password: Secret
    var sharedKey: Secret
    var clientKeyPassphrase: Secret?

    /// Every agency mailbox's credentials, by agency id. An unreadable secret is a configuration
    /// problem naming the reference, never its content.
    static func resolve(_ configuration: RouterConfiguration, environment: [String: String]) throws(ConfigurationError) -> [String: MESHMailboxCredentials] {
        var result: [String: MESHMailboxCredentials] = [:]
        var problems: [ConfigurationProblem] = []
        for agency in configuration.agencies {
            guard let mesh = agency.mesh else { continue }
            func read(_ reference: SecretReference, key: String) -> Secret? {
                do {
                    return Secret(try reference.read(environment: environment))
                } catch {
                    problems.append(ConfigurationProblem(file: RouterConfiguration.fileName, line: nil, key: "agency \(agency.id) mesh.\(key)",
                                                         message: "secret \(reference) cannot be read: \(error.reason)"))
                    return nil
                }
            }
            let password = read(mesh.password, key: "password")
            let sharedKey = read(mesh.sharedKey, key: "shared_key")
            let passphrase = mesh.tls.clientKeyPassphrase.flatMap { read($0, key: "client_key_passphrase") }
            if let password, let sharedKey {
                result[agency.id] = MESHMailboxCredentials(password: password, sharedKey: sharedKey, clientKeyPassphrase: passphrase)
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return result
    }

    func tls(_ settings: TLSSettings) -> TLSConfiguration {
        TLSConfiguration(caFile: settings.caFile, clientCertificateFile: settings.clientCertificate, clientKeyFile: settings.clientKey,
                         clientKeyPassphrase: clientKeyPassphrase, pinnedPublicKeys: settings.pinnedPublicKeys,
                         verification: settings.verification == .full ? .full : .skipForLoopbackOnly)
    }
}
