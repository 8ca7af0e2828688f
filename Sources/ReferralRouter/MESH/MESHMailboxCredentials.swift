import Curl
import LinuxSystem

/// The secrets of one MESH mailbox, an agency's or a destination's, as read at start-up and on
/// reload. Values are `Secret`s: never printed, never logged.
struct MESHMailboxCredentials: Sendable, Hashable {
    var password: Secret
    var sharedKey: Secret
    var clientKeyPassphrase: Secret?

    func tls(_ settings: TLSSettings) -> TLSConfiguration {
        TLSConfiguration(settings, clientKeyPassphrase: clientKeyPassphrase)
    }
}

extension MESHMailboxCredentials {
    /// A mailbox's secrets from those read at start-up or reload (`ResolvedSecrets`); nil when one
    /// is missing, which a configuration in force never has.
    init?(password: SecretReference, sharedKey: SecretReference, clientKeyPassphrase: SecretReference?, in secrets: ResolvedSecrets) {
        guard let passwordValue = secrets[password], let sharedKeyValue = secrets[sharedKey] else { return nil }
        self.init(password: passwordValue, sharedKey: sharedKeyValue, clientKeyPassphrase: clientKeyPassphrase.flatMap { secrets[$0] })
    }
}
