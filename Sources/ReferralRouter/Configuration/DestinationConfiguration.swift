/// The kinds of partner a referral can go to. Field policies and consent scope speak in these.
public enum PartnerType: String, Sendable, Hashable, CaseIterable, Codable {
    case localAuthority = "local-authority"
    case health
    case police
    case school
    case earlyHelp = "early-help"

    static let allNames = allCases.map(\.rawValue)
}

/// What a destination receives: our JSON envelope or a FHIR R4 transaction Bundle.
public enum PayloadFormat: String, Sendable, Hashable, CaseIterable {
    case json
    case fhir

    var contentType: String {
        switch self {
        case .json: "application/json"
        case .fhir: "application/fhir+json"
        }
    }
}

/// TLS for one partner. Verification is always on; the only exception is an explicit test switch
/// that check-config refuses for anything but a loopback address.
public struct TLSSettings: Sendable, Hashable {
    public enum Verification: String, Sendable, Hashable {
        case full
        case skipForLoopbackOnly = "skip-for-loopback-only"
    }
    public var caFile: String? = nil
    public var clientCertificate: String? = nil
    public var clientKey: String? = nil
    public var clientKeyPassphrase: SecretReference? = nil
    public var pinnedPublicKeys: [String] = []
    public var verification: Verification = .full
}

/// An HTTPS partner endpoint.
public struct HTTPSEndpoint: Sendable, Hashable {
    public var url: String
    public var tls: TLSSettings
    public var bearerToken: SecretReference?
    public var proxy: String?
}

/// An NHS MESH mailbox we send from.
public struct MESHEndpoint: Sendable, Hashable {
    /// e.g. https://msg.int.spine2.ncrs.nhs.uk (no trailing path).
    public var baseURL: String
    public var mailbox: String
    public var password: SecretReference
    public var sharedKey: SecretReference
    /// `mex-to`: the recipient mailbox.
    public var recipient: String
    /// `mex-workflowid`.
    public var workflowID: String
    public var tls: TLSSettings
}

public enum DestinationTransport: Sendable, Hashable {
    case https(HTTPSEndpoint)
    case mesh(MESHEndpoint)

    var name: String {
        switch self {
        case .https: "https"
        case .mesh: "mesh"
        }
    }
}

/// `[[destination]]`: a partner the router delivers to.
public struct DestinationConfiguration: Sendable, Hashable {
    public var id: String
    public var partnerType: PartnerType
    public var format: PayloadFormat
    public var transport: DestinationTransport
    public var delivery: DeliverySettings
    public var description: String
}

/// The host part of an https URL (brackets removed from IPv6 literals), or nil if it is not one.
enum URLHost {
    static func of(_ url: String) -> String? {
        guard url.lowercased().hasPrefix("https://") else { return nil }
        var rest = url.dropFirst("https://".count)
        if let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) { rest = rest[..<end] }
        if rest.contains("@") { return nil }   // userinfo is never legitimate here
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : rest.lowercased()
    }

    static func isLoopback(_ url: String) -> Bool {
        guard let host = of(url) else { return false }
        return host == "127.0.0.1" || host == "::1" || host == "localhost"
    }
}
