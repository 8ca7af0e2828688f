/// What a transport reports for one attempt: the partner's answer, or why there was none.
public enum TransportResult: Sendable {
    case response(status: Int, retryAfter: String?, bodyExcerpt: String, remoteReference: String?)
    case failure(TransportFailure)
}

public struct TransportFailure: Error, Sendable {
    public enum Kind: String, Sendable {
        case resolve, connect, timeout, lowSpeed = "low_speed", send, receive, http2
        case tlsHandshake = "tls_handshake", tlsVerification = "tls_verification", pinMismatch = "pin_mismatch"
        case clientCertificate = "client_certificate", insecureRefused = "insecure_refused"
        /// A local problem preparing the request (a secret that cannot be read, a bad URL).
        case configuration
        /// The transfer was stopped by shutdown: not an attempt.
        case interrupted
        case other
    }
    public var kind: Kind
    /// Transport's text, never a header, body or secret.
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}

/// Sends one delivery to one destination. HTTPS and MESH implement it.
public protocol DeliveryTransport: Sendable {
    func send(_ delivery: OutboundDelivery) async -> TransportResult
    /// The partner certificate's expiry, when the transport has seen it.
    var certificateNotAfter: Timestamp? { get }
}
