/// One HTTPS request. Printing it shows the method, the URL without credentials, query or
/// fragment, and sizes; never headers or the body.
public struct HTTPRequest: Sendable, CustomStringConvertible, CustomReflectable {
    public var method: HTTPMethod
    /// `https://` only; any other scheme fails with `.unsupportedScheme`.
    public var url: String
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    public var tls: TLSConfiguration
    public var limits: TransferLimits
    /// An explicit proxy such as "http://proxy:3128"; nil means none (proxy environment variables are ignored).
    public var proxy: String?
    /// Asks for the leaf certificate's notAfter (CURLOPT_CERTINFO). This needs a fresh TLS
    /// handshake, so such a request never reuses a connection.
    public var collectPeerCertificateExpiry: Bool

    public init(
        method: HTTPMethod = .post,
        url: String,
        headers: [HTTPHeader] = [],
        body: [UInt8] = [],
        tls: TLSConfiguration = .init(),
        limits: TransferLimits = .init(),
        proxy: String? = nil,
        collectPeerCertificateExpiry: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.tls = tls
        self.limits = limits
        self.proxy = proxy
        self.collectPeerCertificateExpiry = collectPeerCertificateExpiry
    }

    public var description: String {
        "\(method.rawValue) \(printableURL) (\(headers.count) headers, \(body.count) body bytes)"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["method": method, "url": printableURL, "headerCount": headers.count, "bodyBytes": body.count])
    }

    /// The URL without user information, query or fragment, which may carry credentials.
    var printableURL: String {
        var text = Substring(url)
        if let cut = text.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            text = text[..<cut]
        }
        guard let schemeEnd = text.range(of: "://") else { return String(text) }
        let rest = text[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return String(text) }
        return String(text[..<schemeEnd.upperBound] + rest[rest.index(after: at)...])
    }
}
