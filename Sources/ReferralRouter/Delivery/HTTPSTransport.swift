import Curl
import Foundation
import Synchronization

/// Delivers over HTTPS with libcurl: a POST of the payload with an `Idempotency-Key` that is stable
/// per (referral, destination), so a partner can drop a repeat after a lost response or a crash.
final class HTTPSTransport: DeliveryTransport {
    private let client: HTTPClient
    private let url: String
    private let tls: TLSConfiguration
    private let bearerToken: Secret?
    private let proxy: String?
    private let limits: TransferLimits
    private let notAfter = Mutex<Timestamp?>(nil)
    private let lastExpiryCheck = Mutex<ContinuousClock.Instant?>(nil)
    /// How often the partner's certificate expiry is read (CURLOPT_CERTINFO costs a little).
    private let expiryCheckInterval: Duration = .seconds(3600)

    init(endpoint: HTTPSEndpoint, settings: DeliverySettings, client: HTTPClient, secrets: ResolvedSecrets) {
        self.client = client
        self.url = endpoint.url
        self.tls = TLSConfiguration(endpoint.tls, secrets: secrets)
        self.bearerToken = endpoint.bearerToken.flatMap { secrets[$0] }
        self.proxy = endpoint.proxy
        self.limits = TransferLimits(settings)
    }

    var certificateNotAfter: Timestamp? { notAfter.withLock { $0 } }

    func send(_ delivery: OutboundDelivery) async -> TransportResult {
        var headers = [
            HTTPHeader("Content-Type", delivery.contentType),
            HTTPHeader("Idempotency-Key", delivery.idempotencyKey),
            HTTPHeader("X-Referral-Id", delivery.referralId),
        ]
        if let bearerToken {
            bearerToken.withString { headers.append(HTTPHeader("Authorization", "Bearer \($0)", isSensitive: true)) }
        }
        let now = ContinuousClock.now
        let checkExpiry = lastExpiryCheck.withLock { last in
            guard last.map({ now - $0 >= expiryCheckInterval }) ?? true else { return false }
            last = now
            return true
        }
        let request = HTTPRequest(method: .post, url: url, headers: headers, body: delivery.payload, tls: tls, limits: limits,
                                  proxy: proxy, collectPeerCertificateExpiry: checkExpiry)
        do {
            let response = try await client.send(request)
            if let expiry = response.peerCertificateNotAfter {
                notAfter.withLock { $0 = Timestamp(millisecondsSinceEpoch: Int64(expiry.timeIntervalSince1970 * 1000)) }
            } else if checkExpiry {
                expiryCheckFailed()
            }
            return .response(status: response.status, retryAfter: response.header("Retry-After"),
                             bodyExcerpt: BodyExcerpt.sanitise(response.body), remoteReference: nil)
        } catch {
            if checkExpiry { expiryCheckFailed() }
            return .failure(TransportFailure(error))
        }
    }

    /// The request that was to read the certificate's expiry got none (the partner was down, or the
    /// handshake failed): the next request tries again, rather than an hour later.
    private func expiryCheckFailed() {
        lastExpiryCheck.withLock { $0 = nil }
    }
}

extension TransportFailure {
    init(_ error: CurlError) {
        let kind: Kind = switch error.kind {
        case .resolve: .resolve
        case .connect: .connect
        case .timeout: .timeout
        case .lowSpeed: .lowSpeed
        case .send: .send
        case .receive: .receive
        case .http2: .http2
        case .tlsHandshake: .tlsHandshake
        case .tlsVerification: .tlsVerification
        case .pinMismatch: .pinMismatch
        case .clientCertificate: .clientCertificate
        case .insecureRefused, .unsupportedScheme: .insecureRefused
        case .invalidRequest: .configuration
        case .cancelled, .shutdown: .interrupted
        case .other: .other
        }
        self.init(kind: kind, message: error.message)
    }
}

extension TLSConfiguration {
    init(_ settings: TLSSettings, secrets: ResolvedSecrets) {
        self.init(settings, clientKeyPassphrase: settings.clientKeyPassphrase.flatMap { secrets[$0] })
    }

    init(_ settings: TLSSettings, clientKeyPassphrase: Secret?) {
        self.init(caFile: settings.caFile, clientCertificateFile: settings.clientCertificate, clientKeyFile: settings.clientKey,
                  clientKeyPassphrase: clientKeyPassphrase, pinnedPublicKeys: settings.pinnedPublicKeys,
                  verification: settings.verification == .full ? .full : .skipForLoopbackOnly)
    }
}

extension TransferLimits {
    init(_ settings: DeliverySettings) {
        self.init()
        connectTimeout = settings.connectTimeout
        totalTimeout = settings.totalTimeout
        lowSpeedBytesPerSecond = settings.lowSpeedBytesPerSecond
        lowSpeedWindow = settings.lowSpeedWindow
    }
}
