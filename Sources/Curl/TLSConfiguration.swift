/// How a request's TLS peer is verified and which client certificate it presents.
public struct TLSConfiguration: Sendable, Hashable {
    public enum Verification: Sendable, Hashable {
        /// Peer and host verification, always (the default).
        case full
        /// Test-only: verification is skipped only when the URL host is 127.0.0.1, ::1 or
        /// localhost; for any other host the request fails with `.insecureRefused` before
        /// anything is resolved or connected.
        case skipForLoopbackOnly
    }

    /// PEM bundle of trusted CAs; nil means the system store. When set, only this bundle is trusted.
    public var caFile: String?
    /// PEM client certificate, for mutual TLS.
    public var clientCertificateFile: String?
    /// PEM client key, for mutual TLS.
    public var clientKeyFile: String?
    public var clientKeyPassphrase: Secret?
    /// "sha256//BASE64" SPKI pins; the server key must match one (CURLOPT_PINNEDPUBLICKEY).
    public var pinnedPublicKeys: [String]
    public var verification: Verification

    public init(
        caFile: String? = nil,
        clientCertificateFile: String? = nil,
        clientKeyFile: String? = nil,
        clientKeyPassphrase: Secret? = nil,
        pinnedPublicKeys: [String] = [],
        verification: Verification = .full
    ) {
        self.caFile = caFile
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
        self.clientKeyPassphrase = clientKeyPassphrase
        self.pinnedPublicKeys = pinnedPublicKeys
        self.verification = verification
    }
}
