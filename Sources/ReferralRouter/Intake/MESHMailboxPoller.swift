import Foundation
import JSONSchema
import Logging
import Synchronization

/// Drains one agency's MESH mailbox with the guarantees of folder intake: every message is
/// downloaded whole (all chunks, checksum checked), validated and routed by `ReferralPreparer`,
/// committed durably with its MESH message id, and only then acknowledged. A message seen again
/// (a crash between commit and acknowledgement) becomes a recorded duplicate, never a second
/// referral. Reports update the deliveries they concern; receipts go back to the sender.
///
/// A MESH destination's sending mailbox that no agency drains gets a poller for reports only: it
/// applies the reports MESH puts there and leaves every other message alone (not the router's).
///
/// Each mailbox has its own poller and task, so a slow or broken mailbox holds up nothing else.
/// Logs: message ids, agencies, referral ids and codes; never a subject, file name or content.
final class MESHMailboxPoller: Sendable {
    /// Whose mailbox it is: the agency (intake), or the destination (reports only).
    enum Owner: Sendable, Hashable {
        case agency(String)
        case destination(String)
    }

    /// The agency id, or for a reports-only poller the destination id (it labels recorded reports).
    let agency: String
    let owner: Owner
    let mailbox: MESHMailboxConfiguration
    private let client: MESHClient
    private let live: LiveConfiguration
    private let store: any ReferralStore
    private let delivery: DeliveryService
    private let receipts: ReceiptWriter
    private let logger: Logger
    private let onFatal: @Sendable (any Error) -> Void
    /// Test-only fault hook (docs/operations.md): SIGKILL after the commit, before acknowledging.
    private let crashBeforeAcknowledgement: Bool
    private let wake = WakeSignal()
    private let state = Mutex(State())

    private struct State {
        var stopping = false
        /// Messages left on an unaccepted workflow that this poller has looked at again: each is
        /// downloaded once per poller (after a start or a reload its workflow may be accepted now).
        var rechecked: Set<String> = []
        /// The last failure reported (a code), so a broken mailbox is reported once, not every poll.
        var failing: String?
        var lastAlert: ContinuousClock.Instant?
    }

    /// What one poll did, for the summary line and for deciding whether to poll again at once.
    struct PollCounts: Sendable {
        var taken = 0
        var duplicates = 0
        var unaccepted = 0
        var reports = 0
        var left = 0
        var failed = 0
        var fullPage = false
        var backlog: Int?
    }

    init(owner: Owner, mailbox: MESHMailboxConfiguration, client: MESHClient, live: LiveConfiguration, store: any ReferralStore,
         delivery: DeliveryService, receipts: ReceiptWriter, logger: Logger, crashBeforeAcknowledgement: Bool,
         onFatal: @escaping @Sendable (any Error) -> Void) {
        self.owner = owner
        switch owner {
        case .agency(let id), .destination(let id): agency = id
        }
        self.mailbox = mailbox
        self.client = client
        self.live = live
        self.store = store
        self.delivery = delivery
        self.receipts = receipts
        var logger = logger
        logger[metadataKey: LogKey.stage] = "mesh-intake"
        switch owner {
        case .agency(let id): logger[metadataKey: LogKey.agency] = .string(id)
        case .destination(let id): logger[metadataKey: LogKey.destination] = .string(id)
        }
        logger[metadataKey: "mesh_mailbox"] = .string(mailbox.mailbox)
        self.logger = logger
        self.crashBeforeAcknowledgement = crashBeforeAcknowledgement
        self.onFatal = onFatal
    }

    /// Finish the message in hand, then return from `run`.
    func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
    }

    private var stopping: Bool { state.withLock { $0.stopping } || Task.isCancelled }

    private var ownerDescription: String {
        switch owner {
        case .agency(let id): "agency \(id)"
        case .destination(let id): "reports for destination \(id)"
        }
    }

    private var reportsOnly: Bool {
        if case .destination = owner { return true }
        return false
    }

    /// Polls until stopped: at once again after a full page that yielded work, else after the interval.
    func run() async {
        while !stopping {
            let counts = await pollOnce()
            if stopping { break }
            if mailbox.receipts == .mesh { await sendReceipts() }
            if counts.fullPage, counts.taken + counts.duplicates + counts.reports > 0 { continue }
            await wake.wait(timeout: mailbox.pollInterval)
        }
    }

    // MARK: - One poll

    func pollOnce() async -> PollCounts {
        var counts = PollCounts()
        var next: String?
        var pages = 0
        repeat {
            let page: MESHClient.InboxPage
            do {
                page = try await client.inboxPage(pageSize: mailbox.pageSize, next: next)
            } catch {
                reportInboxFailure(error)
                return counts
            }
            recovered()
            pages += 1
            counts.backlog = page.approximateCount
            if page.messageIDs.count >= mailbox.pageSize { counts.fullPage = true }
            for messageID in page.messageIDs {
                if stopping { break }
                guard await handle(messageID, counts: &counts) else { return counts }
            }
            next = page.next
        } while next != nil && pages < 100 && !stopping
        let handled = counts.taken + counts.duplicates + counts.unaccepted + counts.reports + counts.failed
        var metadata: Logger.Metadata = [
            LogKey.code: "mesh_poll", LogKey.count: .stringConvertible(counts.taken), "duplicates": .stringConvertible(counts.duplicates),
            "unaccepted": .stringConvertible(counts.unaccepted), "reports": .stringConvertible(counts.reports),
            "left": .stringConvertible(counts.left), "failed": .stringConvertible(counts.failed),
        ]
        if let backlog = counts.backlog { metadata["backlog"] = .stringConvertible(backlog) }
        if handled > 0 {
            logger.info("MESH mailbox polled.", metadata: metadata)
        } else {
            logger.debug("MESH mailbox polled.", metadata: metadata)
        }
        return counts
    }

    /// One listed message. Returns false when the poll must stop (credentials refused, store paused).
    private func handle(_ messageID: String, counts: inout PollCounts) async -> Bool {
        let known: MESHKnownMessage?
        do {
            known = try await store.meshKnownMessage(messageID: messageID)
        } catch {
            return storeFailed(error)
        }
        switch known {
        case .referral:
            // Committed before, not acknowledged (a crash, or an acknowledgement that failed).
            do {
                let original = try await store.recordMESHRedownload(messageID: messageID, agency: agency,
                                                                    receiptWorkflowID: receiptWorkflowID, at: .now())
                counts.duplicates += 1
                logger.record(.duplicate(referralId: original ?? messageID, agency: agency))
            } catch {
                return storeFailed(error)
            }
            return await acknowledge(messageID)
        case .recorded(outcome: .unacceptedWorkflow, acknowledged: false):
            let firstLook = state.withLock { state -> Bool in
                if state.rechecked.count >= 100_000 { state.rechecked.removeAll() }
                return state.rechecked.insert(messageID).inserted
            }
            guard firstLook else { return await disposeOfUnaccepted(messageID, counts: &counts) }
            return await download(messageID, recordedAsUnaccepted: true, counts: &counts)
        case .recorded:
            return await acknowledge(messageID)
        case nil:
            break
        }
        if reportsOnly, state.withLock({ $0.rechecked.contains(messageID) }) {
            counts.left += 1   // a data message in a destination's mailbox, already looked at
            return true
        }
        return await download(messageID, recordedAsUnaccepted: false, counts: &counts)
    }

    /// Downloads a message and takes it by kind and workflow.
    private func download(_ messageID: String, recordedAsUnaccepted: Bool, counts: inout PollCounts) async -> Bool {
        let message: MESHInboundMessage
        do {
            message = try await client.download(messageID: messageID, maxBytes: live.current.configuration.intake.maxFileBytes)
        } catch {
            switch error {
            case .forbidden(let status):
                reportForbidden(status)
                return false
            case .gone:
                return true   // acknowledged or expired meanwhile
            case .tooLarge(let bytes):
                return await take(refusal: "The MESH message is larger than the router accepts (at least \(bytes) bytes; intake.max_file_bytes).",
                                  messageID: messageID, from: nil, counts: &counts)
            case .transport, .status, .malformed:
                counts.failed += 1
                logger.warning("A MESH message could not be downloaded; it stays in the mailbox and is tried at the next poll.",
                               metadata: ["mesh_message_id": .string(messageID), LogKey.code: .string(Self.code(error))])
                return true
            }
        }
        switch message.kind {
        case .report:
            return await takeReport(message, counts: &counts)
        case .data where reportsOnly:
            // Not the router's to take: left, unrecorded, and not downloaded again by this poller.
            state.withLock { state in
                if state.rechecked.count >= 100_000 { state.rechecked.removeAll() }
                state.rechecked.insert(messageID)
            }
            counts.left += 1
            return true
        case .data:
            guard mailbox.acceptedWorkflowIDs.contains(message.workflowID) else {
                // Recorded (and counted) once; a message still unaccepted is only left or acknowledged.
                if recordedAsUnaccepted { return await disposeOfUnaccepted(messageID, counts: &counts) }
                return await takeUnaccepted(message, counts: &counts)
            }
            return await take(message, counts: &counts)
        }
    }

    private func disposeOfUnaccepted(_ messageID: String, counts: inout PollCounts) async -> Bool {
        switch mailbox.unacceptedWorkflow {
        case .acknowledge: return await acknowledge(messageID)
        case .leave:
            counts.left += 1
            return true
        }
    }

    private var receiptWorkflowID: String? { mailbox.receipts == .mesh ? mailbox.receiptWorkflowID : nil }

    // MARK: - Referrals

    private func take(_ message: MESHInboundMessage, counts: inout PollCounts) async -> Bool {
        if let encoding = message.contentEncoding, encoding != "identity" {
            return await take(refusal: "The MESH message is compressed (Content-Encoding \(encoding)); send referrals uncompressed.",
                              messageID: message.messageID, from: message, counts: &counts)
        }
        if let checksum = message.checksum, case .mismatch(let algorithm) = MESHChecksum.verify(checksum, body: message.body) {
            return await take(refusal: "The MESH message does not match its mex-content-checksum (\(algorithm)): it was damaged on the way. Send it again.",
                              messageID: message.messageID, from: message, counts: &counts)
        }
        let snapshot = live.current
        let preparer = ReferralPreparer(schema: snapshot.configuration.schema, router: snapshot.router)
        let record = preparer.prepare(bytes: message.body, agency: agency,
                                      source: .mesh(messageID: message.messageID, from: message.from, workflowID: message.workflowID),
                                      receivedAt: .now())
        return await commit(record, message: message, counts: &counts)
    }

    /// A message that cannot be taken as a referral at all: stored as rejected, so it is accounted
    /// for, acknowledged, and its sender told why.
    private func take(refusal reason: String, messageID: String, from message: MESHInboundMessage?, counts: inout PollCounts) async -> Bool {
        let body = message?.body ?? []
        let issue = ValidationIssue(pointer: "", keyword: "mesh", message: reason, line: nil, column: nil, schemaLocation: nil)
        let hash = Digest.sha256(Array("mesh\n\(agency)\n\(messageID)\n".utf8) + body)
        let record = IntakeRecord(agency: agency, source: .mesh(messageID: messageID, from: message?.from ?? "", workflowID: message?.workflowID ?? ""),
                                  contentHash: hash, referralId: "unidentified-" + Digest.hex(hash.prefix(8)), referralIdFromDocument: false,
                                  receivedAt: .now(), document: body, decision: ReferralPreparer.rejection(reasons: [reason]), issues: [issue])
        return await commit(record, message: message, counts: &counts)
    }

    private func commit(_ record: IntakeRecord, message: MESHInboundMessage?, counts: inout PollCounts) async -> Bool {
        let results: [IntakeCommitResult]
        do {
            results = try await store.commitIntake([record])
        } catch {
            return storeFailed(error)
        }
        guard let result = results.first else { return true }
        let messageID = record.source.name
        let sender = message?.from ?? ""
        var outcome = MESHMessageOutcome.referral
        var rowID: Int64?
        let metadata: Logger.Metadata = ["mesh_message_id": .string(messageID)]
        switch result {
        case .stored(let stored) where stored.receipt != .rejected:
            rowID = stored.rowID
            delivery.enqueue(stored.deliveries)
            logger.record(.received(referralId: stored.referralId, agency: agency, outcome: stored.receipt,
                                    priority: record.decision.priority, deliveries: stored.deliveries.count))
        case .stored(let stored):
            rowID = stored.rowID
            logRejected(stored.referralId, code: record.issues.first?.keyword ?? "rejected", issues: record.issues.count, messageID: messageID)
        case .conflictingReferralId(let stored, let issue):
            rowID = stored.rowID
            logRejected(stored.referralId, code: issue.keyword, issues: record.issues.count + 1, messageID: messageID)
        case .duplicateContent(let original):
            outcome = .duplicate
            logger.record(.duplicate(referralId: original, agency: agency))
        }
        let receipt = receiptWorkflowID.flatMap { workflow in
            sender.isEmpty || rowID == nil ? nil : MESHReceiptRequest(recipient: sender, workflowID: workflow)
        }
        do {
            try await store.recordMESHMessage(MESHMessageRecord(
                messageID: messageID, agency: agency, mailbox: mailbox.mailbox, sender: sender, workflowID: message?.workflowID ?? "",
                outcome: outcome, referralRowID: rowID, receipt: receipt, at: .now()))
        } catch {
            // The referral is committed; seen again, its message id makes it a duplicate.
            return storeFailed(error)
        }
        if let rowID { receipts.markDirty([rowID]) }
        if outcome == .duplicate { counts.duplicates += 1 } else { counts.taken += 1 }
        logger.debug("MESH message committed.", metadata: metadata)
        if crashBeforeAcknowledgement {
            logger.critical("Test hook REFERRAL_ROUTER_TEST_CRASH_BEFORE_MESH_ACK: killing the router after the commit, before acknowledging.",
                            metadata: metadata)
            kill(getpid(), SIGKILL)
        }
        return await acknowledge(messageID)
    }

    private func logRejected(_ referralId: String, code: String, issues: Int, messageID: String) {
        logger.notice("MESH referral rejected; the sender's receipt gives the reasons.", metadata: [
            LogKey.event: "rejected", LogKey.referralId: .string(referralId), LogKey.outcome: "REJECTED",
            LogKey.code: .string(code), LogKey.count: .stringConvertible(issues), "mesh_message_id": .string(messageID),
        ])
    }

    // MARK: - Unaccepted workflows and reports

    private func takeUnaccepted(_ message: MESHInboundMessage, counts: inout PollCounts) async -> Bool {
        do {
            try await store.recordMESHMessage(MESHMessageRecord(
                messageID: message.messageID, agency: agency, mailbox: mailbox.mailbox, sender: message.from, workflowID: message.workflowID,
                outcome: .unacceptedWorkflow, referralRowID: nil, receipt: nil, at: .now()))
        } catch {
            return storeFailed(error)
        }
        counts.unaccepted += 1
        let action = mailbox.unacceptedWorkflow
        logger.warning("A MESH message on a workflow this mailbox does not accept was recorded and not routed.", metadata: [
            LogKey.code: "mesh_unaccepted_workflow", "mesh_message_id": .string(message.messageID),
            "workflow_id": .string(message.workflowID), LogKey.outcome: .string(action.rawValue),
        ])
        _ = state.withLock { $0.rechecked.insert(message.messageID) }
        return await disposeOfUnaccepted(message.messageID, counts: &counts)
    }

    private func takeReport(_ message: MESHInboundMessage, counts: inout PollCounts) async -> Bool {
        let report = MESHReport(messageID: message.messageID, agency: agency, mailbox: mailbox.mailbox,
                                linkedMessageID: message.linkedMessageID, localID: message.localID, workflowID: message.workflowID,
                                statusCode: message.statusCode, statusEvent: message.statusEvent,
                                success: !message.isNonDeliveryReport,
                                description: message.statusDescription.map { BodyExcerpt.sanitise(Array($0.utf8)) }, at: .now())
        let match: MESHReportMatch
        do {
            match = try await store.applyMESHReport(report)
        } catch {
            return storeFailed(error)
        }
        counts.reports += 1
        let code = message.statusCode.map { "mesh_\($0)" } ?? "mesh_report"
        var metadata: Logger.Metadata = [LogKey.code: .string(code), "mesh_message_id": .string(message.messageID)]
        if let linked = message.linkedMessageID { metadata["linked_message_id"] = .string(linked) }
        switch match {
        case .deliveryFailed(let rowID, let referralId, let destination):
            receipts.markDirty([rowID])
            logger.record(.alert(code: "mesh_non_delivery", destination: destination,
                                 message: "MESH reports referral \(referralId) was not delivered to \(destination) (status \(message.statusCode ?? "unknown")); the delivery is marked failed and an operator must act."))
        case .deliveryConfirmed(let referralId, let destination):
            metadata[LogKey.referralId] = .string(referralId)
            metadata[LogKey.destination] = .string(destination)
            logger.info("MESH report confirms a delivery.", metadata: metadata)
        case .receipt(let referralId, let failed):
            metadata[LogKey.referralId] = .string(referralId)
            if failed {
                logger.record(.alert(code: "mesh_receipt_not_delivered", destination: nil,
                                     message: "MESH reports the receipt for referral \(referralId) was not delivered to its sender (status \(message.statusCode ?? "unknown"))."))
            } else {
                logger.info("MESH report about a receipt recorded.", metadata: metadata)
            }
        case .unmatched:
            logger.warning("A MESH report matches nothing the router sent; it was recorded.", metadata: metadata)
        case .alreadyRecorded:
            break
        }
        return await acknowledge(message.messageID)
    }

    // MARK: - Acknowledgement, receipts, failures

    /// Acknowledges a committed message. A failure leaves it in the mailbox: seen again, it is
    /// recognised by its id.
    private func acknowledge(_ messageID: String) async -> Bool {
        do {
            switch try await client.acknowledge(messageID: messageID) {
            case .acknowledged:
                try? await store.markMESHAcknowledged(messageID: messageID, at: .now())
                return true
            case .forbidden(let status):
                reportForbidden(status)
                return false
            case .failed(let status):
                logger.warning("A MESH message could not be acknowledged; it will be recognised when seen again.",
                               metadata: ["mesh_message_id": .string(messageID), LogKey.code: .string("http_\(status)")])
                return true
            }
        } catch {
            logger.warning("A MESH message could not be acknowledged; it will be recognised when seen again.",
                           metadata: ["mesh_message_id": .string(messageID), LogKey.code: .string(TransportFailure(error).kind.rawValue)])
            return true
        }
    }

    private func sendReceipts() async {
        let sender = MESHReceiptSender(agency: agency, client: client, store: store, logger: logger)
        switch await sender.sendPending() {
        case .done:
            break
        case .forbidden(let status):
            reportForbidden(status)
        case .storeFailed(let error):
            _ = storeFailed(error)
        }
    }

    /// A transient store problem ends this poll (the message stays in the mailbox); any other stops the router.
    private func storeFailed(_ error: StoreError) -> Bool {
        if error.isTransient {
            logger.warning("The store is busy or full; MESH messages stay in the mailbox until the next poll.",
                           metadata: [LogKey.code: .string(error.code)])
        } else {
            onFatal(error)
        }
        return false
    }

    private func reportInboxFailure(_ error: MESHClient.InboxError) {
        switch error {
        case .forbidden(let status):
            reportForbidden(status)
        case .transport(let curl):
            reportUnreachable(TransportFailure(curl).kind.rawValue)
        case .status(let status):
            reportUnreachable("http_\(status)")
        case .malformed:
            reportUnreachable("malformed_inbox")
        }
    }

    /// Wrong credentials are an operator problem: an alert, repeated at most hourly.
    private func reportForbidden(_ status: Int) {
        let now = ContinuousClock.now
        let due = state.withLock { state -> Bool in
            defer { state.failing = "forbidden" }
            guard state.failing != "forbidden" || state.lastAlert.map({ now - $0 >= .seconds(3600) }) ?? true else { return false }
            state.lastAlert = now
            return true
        }
        if due {
            logger.record(.alert(code: "mesh_authentication", destination: nil,
                                 message: "MESH refused the credentials of mailbox \(mailbox.mailbox) (\(ownerDescription), HTTP \(status)); nothing is taken from it until the mailbox id, password or shared key is corrected."))
        }
    }

    /// A mailbox that cannot be reached or answers errors: reported when it starts, then quietly retried each poll.
    private func reportUnreachable(_ code: String) {
        let first = state.withLock { state -> Bool in
            defer { state.failing = code }
            return state.failing != code
        }
        if first {
            logger.warning("The MESH mailbox cannot be polled; it is tried again at every poll interval.", metadata: [LogKey.code: .string(code)])
        }
    }

    private func recovered() {
        let was = state.withLock { state -> String? in
            defer { state.failing = nil }
            return state.failing
        }
        if was != nil { logger.notice("The MESH mailbox can be polled again.", metadata: [LogKey.code: "mesh_recovered"]) }
    }

    private static func code(_ error: MESHClient.DownloadError) -> String {
        switch error {
        case .transport(let curl): TransportFailure(curl).kind.rawValue
        case .forbidden(let status), .gone(let status), .status(let status): "http_\(status)"
        case .tooLarge: "too_large"
        case .malformed: "malformed"
        }
    }
}
