import Curl

/// Delivers to a health partner through NHS MESH: `POST outbox` with the payload, a non-personal
/// `mex-localid` (the idempotency key) and a checksum. After an attempt whose answer may have been
/// lost, MESH is asked whether it already holds a message with that local id before posting
/// again, so a retry does not create a duplicate (NHS England's client never blindly re-posts).
final class MESHTransport: DeliveryTransport {
    private let mesh: MESHClient
    private let endpoint: MESHEndpoint

    init(endpoint: MESHEndpoint, settings: DeliverySettings, client: HTTPClient, secrets: ResolvedSecrets) {
        self.endpoint = endpoint
        self.mesh = MESHClient(baseURL: endpoint.baseURL, mailbox: endpoint.mailbox,
                               password: secrets[endpoint.password] ?? Secret(""), sharedKey: secrets[endpoint.sharedKey] ?? Secret(""),
                               tls: TLSConfiguration(endpoint.tls, secrets: secrets), limits: TransferLimits(settings), client: client)
    }

    var certificateNotAfter: Timestamp? { nil }

    func send(_ delivery: OutboundDelivery) async -> TransportResult {
        do {
            if delivery.attempts > 0 {
                switch try await mesh.trackByLocalID(delivery.idempotencyKey) {
                case .found(let messageID):
                    return .response(status: 202, retryAfter: nil, bodyExcerpt: "already in MESH", remoteReference: messageID)
                case .notFound:
                    break
                case .unknown(let status):
                    // Cannot tell whether the earlier attempt arrived: do not risk a duplicate; retry later.
                    return .response(status: status >= 500 ? status : 503, retryAfter: nil,
                                     bodyExcerpt: "MESH tracking answered \(status)", remoteReference: nil)
                }
            }
            let response = try await mesh.send(MESHClient.Outgoing(
                recipient: endpoint.recipient, workflowID: endpoint.workflowID, localID: delivery.idempotencyKey,
                subject: "Referral \(delivery.referralId)", fileName: "\(delivery.referralId).json",
                contentType: delivery.contentType, body: delivery.payload))
            let messageID = MESHClient.messageID(in: response.body)
            return .response(status: response.status, retryAfter: response.header("Retry-After"),
                             bodyExcerpt: BodyExcerpt.sanitise(response.body), remoteReference: messageID)
        } catch {
            return .failure(TransportFailure(error))
        }
    }
}
