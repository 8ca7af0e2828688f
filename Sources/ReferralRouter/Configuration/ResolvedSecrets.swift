import Curl
import LinuxSystem

/// Every secret the configuration references, read once at start-up (and on reload). Values are
/// `Secret`s: they print as `<redacted>` and never reach a log.
public struct ResolvedSecrets: Sendable {
    private var values: [SecretReference: Secret] = [:]

    public init() {}

    subscript(reference: SecretReference) -> Secret? { values[reference] }

    /// Reads every reference in the configuration; an unreadable one is a configuration problem
    /// naming the reference (never its content).
    public static func resolve(_ configuration: RouterConfiguration, environment: [String: String]) throws(ConfigurationError) -> ResolvedSecrets {
        var secrets = ResolvedSecrets()
        var problems: [ConfigurationProblem] = []
        var references: [(String, SecretReference)] = []
        for destination in configuration.destinations {
            switch destination.transport {
            case .https(let endpoint):
                if let token = endpoint.bearerToken { references.append(("destination \(destination.id) bearer_token", token)) }
                if let passphrase = endpoint.tls.clientKeyPassphrase { references.append(("destination \(destination.id) client_key_passphrase", passphrase)) }
            case .mesh(let endpoint):
                references.append(("destination \(destination.id) mesh_password", endpoint.password))
                references.append(("destination \(destination.id) mesh_shared_key", endpoint.sharedKey))
                if let passphrase = endpoint.tls.clientKeyPassphrase { references.append(("destination \(destination.id) client_key_passphrase", passphrase)) }
            }
        }
        for agency in configuration.agencies {
            guard let mesh = agency.mesh else { continue }
            references.append(("agency \(agency.id) mesh.password", mesh.password))
            references.append(("agency \(agency.id) mesh.shared_key", mesh.sharedKey))
            if let passphrase = mesh.tls.clientKeyPassphrase { references.append(("agency \(agency.id) mesh.client_key_passphrase", passphrase)) }
        }
        if let key = configuration.audit.hmacKey { references.append(("audit hmac_key", key)) }
        for (owner, reference) in references where secrets.values[reference] == nil {
            do {
                secrets.values[reference] = Secret(try reference.read(environment: environment))
            } catch {
                problems.append(ConfigurationProblem(file: RouterConfiguration.fileName, line: nil, key: owner,
                                                     message: "secret \(reference) cannot be read: \(error.reason)"))
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return secrets
    }

    /// The raw bytes, for keys used locally (the audit HMAC key).
    func bytes(_ reference: SecretReference) -> [UInt8]? {
        values[reference].map { secret in secret.withString { Array($0.utf8) } }
    }
}
