/// Why a request failed. `message` is curl's own error text or ours; it never holds headers,
/// bodies or secrets.
public struct CurlError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        /// The URL's scheme is not https.
        case unsupportedScheme
        /// `skipForLoopbackOnly` was asked for a host that is not loopback.
        case insecureRefused
        /// The request cannot be sent as given (bad URL, bad header, GET with a body, ...).
        case invalidRequest
        /// The host (or proxy) name did not resolve.
        case resolve
        /// No TCP connection could be made.
        case connect
        /// The connect or total timeout expired.
        case timeout
        /// The transfer stayed below the low-speed limit for the whole window.
        case lowSpeed
        /// The TLS handshake failed (protocol, cipher, alert).
        case tlsHandshake
        /// The peer's certificate did not verify (CA, name, expiry) or the CA file is unusable.
        case tlsVerification
        /// The peer's public key matched none of the pins.
        case pinMismatch
        /// Our client certificate or key could not be used, or the peer rejected it.
        case clientCertificate
        /// Sending the request failed.
        case send
        /// Receiving the response failed: reset, nothing, or a truncated answer.
        case receive
        /// An HTTP/2 framing or stream error.
        case http2
        /// The calling task was cancelled.
        case cancelled
        /// The client was shut down.
        case shutdown
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// The CURLcode; 0 when the error did not come from curl.
    public var curlCode: Int32
    public var message: String

    public init(kind: Kind, curlCode: Int32 = 0, message: String) {
        self.kind = kind
        self.curlCode = curlCode
        self.message = message
    }

    public var description: String {
        curlCode == 0 ? "\(kind.rawValue): \(message)" : "\(kind.rawValue) (curl \(curlCode)): \(message)"
    }
}
