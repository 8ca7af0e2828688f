import Curl
import Logging

/// Sends the receipts owed to MESH senders for one mailbox: the same JSON as the receipt file,
/// once when the referral is decided (accepted, returned, rejected) and once more when every
/// delivery is done. Queued durably (`mesh_receipt`); each keeps a stable `mex-localid`, and MESH
/// is asked for it before every post, so a lost answer never makes a second copy.
struct MESHReceiptSender: Sendable {
    var agency: String
    var client: MESHClient
    var store: any ReferralStore
    var logger: Logger
    /// A receipt refused this many times (a recipient MESH does not know, say) is abandoned with an alert.
    var maxAttempts = 20

    enum Outcome: Sendable {
        case done(sent: Int)
        /// MESH refused the mailbox's credentials: nothing more is tried this round.
        case forbidden(status: Int)
        case storeFailed(StoreError)
    }

    /// Queues final receipts that are due, then sends what is pending (at most `limit`).
    func sendPending(limit: Int = 100) async -> Outcome {
        var sent = 0
        do {
            _ = try await store.queueFinalMESHReceipts(agency: agency, at: .now())
            for receipt in try await store.pendingMESHReceipts(agency: agency, limit: limit) {
                if Task.isCancelled { break }
                guard let snapshot = try await store.receiptSnapshot(referralRowID: receipt.referralRowID) else {
                    try await store.recordMESHReceiptAttempt(id: receipt.id, result: .failed(code: "no_referral"), at: .now())
                    continue
                }
                let result = await send(receipt, snapshot: snapshot)
                if case .retry(let code) = result, code == "forbidden" {
                    return .forbidden(status: 403)
                }
                let recorded: MESHReceiptAttemptResult
                if case .retry(let code) = result, receipt.attempts + 1 >= maxAttempts {
                    recorded = .failed(code: code)
                } else {
                    recorded = result
                }
                try await store.recordMESHReceiptAttempt(id: receipt.id, result: recorded, at: .now())
                var metadata: Logger.Metadata = [LogKey.referralId: .string(snapshot.referralId), LogKey.agency: .string(agency),
                                                 LogKey.stage: "mesh-receipt", "receipt": .string(receipt.stage)]
                switch recorded {
                case .sent:
                    sent += 1
                    logger.info("Receipt sent to the MESH sender.", metadata: metadata)
                case .retry(let code):
                    metadata[LogKey.code] = .string(code)
                    logger.warning("Receipt could not be sent over MESH; it will be retried at the next poll.", metadata: metadata)
                case .failed(let code):
                    logger.record(.alert(code: "mesh_receipt_failed", destination: nil,
                                         message: "A receipt for referral \(snapshot.referralId) of agency \(agency) could not be sent over MESH after \(receipt.attempts + 1) attempts (\(code)); the sender has not been told."))
                }
            }
        } catch {
            return .storeFailed(error)
        }
        return .done(sent: sent)
    }

    private func send(_ receipt: MESHPendingReceipt, snapshot: ReceiptSnapshot) async -> MESHReceiptAttemptResult {
        do {
            switch try await client.trackByLocalID(receipt.localID) {
            case .found(let messageID): return .sent(messageID: messageID)
            case .notFound: break
            case .forbidden: return .retry(code: "forbidden")
            case .unknown(let status): return .retry(code: "tracking_http_\(status)")
            }
            let body = Receipt.render(snapshot, updatedAt: .now()).serialized(pretty: true) + [0x0a]
            let response = try await client.send(MESHClient.Outgoing(
                recipient: receipt.recipient, workflowID: receipt.workflowID, localID: receipt.localID,
                subject: "Receipt \(snapshot.referralId)", fileName: snapshot.receiptName, contentType: "application/json", body: body))
            switch response.status {
            case 200...299: return .sent(messageID: MESHClient.messageID(in: response.body))
            case 401, 403: return .retry(code: "forbidden")
            default: return .retry(code: "http_\(response.status)")
            }
        } catch {
            return .retry(code: TransportFailure(error).kind.rawValue)
        }
    }
}

