import Curl
import Synchronization

/// Delivers to a health partner through NHS MESH: `POST outbox` with the payload, a non-personal
/// `mex-localid` (the idempotency key) and a checksum, and records the message id MESH gives.
///
/// Before every post MESH is asked whether it already holds a message with that local id (NHS
/// England's client never blindly re-posts): after a lost answer, or a crash between the post and
/// recording it, the retry finds the first message instead of making a second one.
final class MESHTransport: DeliveryTransport {
    private let mesh: MESHClient
    private let endpoint: MESHEndpoint
    private let notAfter = Mutex<Timestamp?>(nil)

    init(endpoint: MESHEndpoint, settings: DeliverySettings, client: HTTPClient, secrets: ResolvedSecrets) {
        self.endpoint = endpoint
        self.mesh = MESHClient(baseURL: endpoint.baseURL, mailbox: endpoint.mailbox,
                               password: secrets[endpoint.password] ?? Secret(""), sharedKey: secrets[endpoint.sharedKey] ?? Secret(""),
                               tls: TLSConfiguration(endpoint.tls, secrets: secrets), limits: TransferLimits(settings), client: client)
    }

    /// The MESH server certificate's expiry, seen on every post (each opens a fresh connection).
    var certificateNotAfter: Timestamp? { notAfter.withLock { $0 } }

    func send(_ delivery: OutboundDelivery) async -> TransportResult {
        do {
            switch try await mesh.trackByLocalID(delivery.idempotencyKey) {
            case .found(let messageID):
                return .response(status: 202, retryAfter: nil, bodyExcerpt: "already in MESH",
                                 remoteReference: messageID ?? delivery.remoteReference)
            case .notFound:
                break
            case .forbidden(let status):
                return .failure(Self.authenticationFailure(status: status))
            case .unknown(let status):
                // Cannot tell whether an earlier attempt arrived: never risk a duplicate; retry later.
                return .response(status: status >= 500 ? status : 503, retryAfter: nil,
                                 bodyExcerpt: "MESH tracking answered \(status)", remoteReference: nil)
            }
            let response = try await mesh.send(MESHClient.Outgoing(
                recipient: endpoint.recipient, workflowID: endpoint.workflowID, localID: delivery.idempotencyKey,
                subject: "Referral \(delivery.referralId)", fileName: "\(delivery.referralId).json",
                contentType: delivery.contentType, body: delivery.payload))
            if let expiry = response.peerCertificateNotAfter {
                notAfter.withLock { $0 = Timestamp(millisecondsSinceEpoch: Int64(expiry.timeIntervalSince1970 * 1000)) }
            }
            if response.status == 401 || response.status == 403 {
                return .failure(Self.authenticationFailure(status: response.status))
            }
            let messageID = MESHClient.messageID(in: response.body)
            return .response(status: response.status, retryAfter: response.header("Retry-After"),
                             bodyExcerpt: BodyExcerpt.sanitise(response.body), remoteReference: messageID)
        } catch {
            return .failure(TransportFailure(error))
        }
    }

    /// The MESH-specific part of classification. MESH answers 403 when the mailbox id, password or
    /// shared key is wrong (or the mailbox is locked): nothing about the referral is refused, and
    /// every other referral to this mailbox would fail the same way until an operator fixes the
    /// credentials. Dead-lettering (what a plain 4xx means for an HTTPS partner) would abandon
    /// referrals for an operator problem, so it is reported as a configuration failure instead:
    /// retried slowly (`tls_failure_retry_seconds`) with an alert, never in a hot loop.
    static func authenticationFailure(status: Int) -> TransportFailure {
        TransportFailure(kind: .configuration,
                         message: "MESH refused the mailbox's credentials (HTTP \(status)); check the mailbox id, mesh_password and mesh_shared_key")
    }
}
