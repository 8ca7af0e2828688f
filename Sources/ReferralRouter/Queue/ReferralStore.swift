import JSONSchema

/// Where a referral came from.
public enum ReferralSource: Sendable, Hashable {
    /// A file dropped into the agency's inbound folder.
    case folder(name: String)
    /// A message taken from an NHS MESH mailbox.
    case mesh(messageID: String, from: String, workflowID: String)

    var kind: String {
        switch self {
        case .folder: "folder"
        case .mesh: "mesh"
        }
    }

    /// The name shown to the agency (a file name or a MESH message id).
    var name: String {
        switch self {
        case .folder(let name): name
        case .mesh(let messageID, _, _): messageID
        }
    }
}

/// One referral prepared by intake, validation and routing, ready to commit.
public struct IntakeRecord: Sendable {
    public var agency: String
    public var source: ReferralSource
    public var contentHash: [UInt8]
    /// The referral's id: the document's `referralId` when it has a usable one, else `unidentified-<hash>`.
    public var referralId: String
    public var referralIdFromDocument: Bool
    public var receivedAt: Timestamp
    public var document: [UInt8]
    public var decision: RoutingDecision
    public var issues: [ValidationIssue]

    public init(agency: String, source: ReferralSource, contentHash: [UInt8], referralId: String, referralIdFromDocument: Bool,
                receivedAt: Timestamp, document: [UInt8], decision: RoutingDecision, issues: [ValidationIssue]) {
        self.agency = agency
        self.source = source
        self.contentHash = contentHash
        self.referralId = referralId
        self.referralIdFromDocument = referralIdFromDocument
        self.receivedAt = receivedAt
        self.document = document
        self.decision = decision
        self.issues = issues
    }
}

/// What committing one intake record did.
public enum IntakeCommitResult: Sendable {
    /// Stored; these deliveries are now queued.
    case stored(StoredReferral)
    /// The same agency already sent exactly this content: recorded, not queued twice.
    case duplicateContent(originalReferralId: String)
    /// A different document reuses an accepted `referralId`: stored as rejected with this reason.
    case conflictingReferralId(StoredReferral, issue: ValidationIssue)
}

public struct StoredReferral: Sendable {
    public var rowID: Int64
    public var referralId: String
    public var receiptName: String
    public var receipt: ReceiptCode
    public var deliveries: [ScheduledDelivery]
}

/// The little the scheduler keeps in memory per pending delivery; the payload stays on disk.
public struct ScheduledDelivery: Sendable, Hashable {
    public var id: Int64
    public var destination: String
    public var priority: DeliveryPriority
    public var attempts: Int
    /// Wall-clock time of the next attempt as stored: only used to resume after a restart.
    public var nextAttemptAt: Timestamp
    public var acceptedAt: Timestamp
}

/// What loading a queued delivery found.
public enum DeliveryLoad: Sendable {
    case ready(OutboundDelivery)
    /// Delivered, dead-lettered or gone meanwhile: nothing to send.
    case notPending
    /// The record cannot be read (say, its payload is missing): set aside, never sent half-made.
    case corrupt(String)
}

/// A delivery loaded for sending.
public struct OutboundDelivery: Sendable {
    public var id: Int64
    public var referralRowID: Int64
    public var referralId: String
    public var agency: String
    public var destination: String
    public var rule: String
    public var payload: [UInt8]
    public var contentType: String
    public var idempotencyKey: String
    public var attempts: Int
    public var acceptedAt: Timestamp
    public var priority: DeliveryPriority
    /// A reference the partner gave on an earlier attempt (a MESH message id), if any.
    public var remoteReference: String?
}

/// The result of one attempt, to record.
public struct DeliveryAttemptRecord: Sendable {
    public enum Result: Sendable {
        case delivered(status: Int, remoteReference: String?)
        case willRetry(at: Timestamp, error: String, status: Int?)
        case deadLettered(reason: String, status: Int?)
    }
    public var deliveryID: Int64
    public var referralRowID: Int64
    public var referralId: String
    public var agency: String
    public var destination: String
    /// 1-based number of this attempt.
    public var attempt: Int
    public var result: Result
    /// A short fixed code (`delivered`, `http_503`, `connect`, `max_age`, ...): all the audit keeps,
    /// since a partner's answer text may echo personal data.
    public var code: String
    public var at: Timestamp

    /// `code` defaults to one derived from the result (the text before the first `:` of a retry's error).
    public init(deliveryID: Int64, referralRowID: Int64, referralId: String, agency: String, destination: String,
                attempt: Int, result: Result, code: String? = nil, at: Timestamp) {
        self.deliveryID = deliveryID
        self.referralRowID = referralRowID
        self.referralId = referralId
        self.agency = agency
        self.destination = destination
        self.attempt = attempt
        self.result = result
        self.at = at
        self.code = code ?? {
            switch result {
            case .delivered: "delivered"
            case .willRetry(_, let error, let status): status.map { "http_\($0)" } ?? String(error.prefix { $0 != ":" && $0 != " " }.prefix(32))
            case .deadLettered(_, let status): status.map { "http_\($0)" } ?? "dead-lettered"
            }
        }()
    }
}

/// The queue: durable referrals, deliveries and their audit, behind a small protocol so a
/// server-backed store can replace SQLite without touching the stages.
public protocol ReferralStore: Sendable {
    /// Commits the batch in one durable transaction (fsync'd before returning), results in order.
    func commitIntake(_ records: [IntakeRecord]) async throws(StoreError) -> [IntakeCommitResult]
    /// Every pending delivery, lightly, for the scheduler at start-up.
    func pendingDeliveries() async throws(StoreError) -> [ScheduledDelivery]
    /// Loads deliveries for sending in one read, one result per id in order.
    func loadDeliveries(ids: [Int64]) async throws(StoreError) -> [DeliveryLoad]
    /// Records attempts in one transaction, with their audit events.
    func recordAttempts(_ attempts: [DeliveryAttemptRecord]) async throws(StoreError)
    /// Stores a partner's reference for a delivery before its outcome is known (MESH message id).
    func recordRemoteReference(deliveryID: Int64, reference: String) async throws(StoreError)
    /// The receipts of these referrals in one read; a referral that does not exist is left out.
    func receiptSnapshots(referralRowIDs: [Int64]) async throws(StoreError) -> [Int64: ReceiptSnapshot]
    func status() async throws(StoreError) -> StoreStatus
    /// Appends free-standing audit events (configuration loaded, alerts).
    func appendAudit(_ events: [AuditEvent]) async throws(StoreError)
    /// Puts dead-lettered deliveries back in the queue (all of them, or those of one destination and/or
    /// one referral), attempts reset, with an audit event; returns how many.
    func requeueDeadDeliveries(destination: String?, referralId: String?, at: Timestamp) async throws(StoreError) -> Int

    /// Increases with every committed write: readers of aggregate state (status) can skip work when
    /// nothing changed. A store that cannot tell returns a new value every time.
    var changeCount: Int { get }

    // MARK: MESH mailboxes (issue 8)

    /// What is already known of an inbound MESH message id, or nil for a new message.
    func meshKnownMessage(messageID: String) async throws(StoreError) -> MESHKnownMessage?
    /// Records what an inbound MESH message became (and queues its receipt), durably.
    func recordMESHMessage(_ record: MESHMessageRecord) async throws(StoreError)
    /// A message that already became a referral was seen again in the inbox: records a duplicate of
    /// that referral (and, with a receipt workflow, makes sure the sender's receipt is queued).
    /// Returns the original referral id.
    func recordMESHRedownload(messageID: String, agency: String, receiptWorkflowID: String?,
                              at: Timestamp) async throws(StoreError) -> String?
    func markMESHAcknowledged(messageID: String, at: Timestamp) async throws(StoreError)
    /// Records a MESH report and applies it to the delivery (or receipt) it concerns.
    func applyMESHReport(_ report: MESHReport) async throws(StoreError) -> MESHReportMatch
    /// Queues the final receipt of every MESH referral of `agency` whose deliveries are all done.
    func queueFinalMESHReceipts(agency: String, at: Timestamp) async throws(StoreError) -> Int
    func pendingMESHReceipts(agency: String, limit: Int) async throws(StoreError) -> [MESHPendingReceipt]
    func recordMESHReceiptAttempt(id: Int64, result: MESHReceiptAttemptResult, at: Timestamp) async throws(StoreError)
}

extension ReferralStore {
    /// One delivery, or nil when it is no longer pending; a corrupt record throws `corruptRecord`.
    public func loadDelivery(id: Int64) async throws(StoreError) -> OutboundDelivery? {
        switch try await loadDeliveries(ids: [id]).first {
        case .ready(let delivery): return delivery
        case .notPending, nil: return nil
        case .corrupt(let reason): throw .corruptRecord(reason)
        }
    }

    public func receiptSnapshot(referralRowID: Int64) async throws(StoreError) -> ReceiptSnapshot? {
        try await receiptSnapshots(referralRowIDs: [referralRowID])[referralRowID]
    }
}

/// The state a receipt is rendered from.
public struct ReceiptSnapshot: Sendable {
    public struct Destination: Sendable {
        public var destination: String
        public var partnerType: String
        public var state: String
        public var attempts: Int
        public var lastError: String?
        public var lastStatus: Int?
        public var deliveredAt: Timestamp?
    }
    public var referralId: String
    public var agency: String
    public var receiptName: String
    public var sourceName: String
    public var receivedAt: Timestamp
    public var receipt: ReceiptCode
    public var reasons: [String]
    public var issues: [ValidationIssue]
    public var safetyNet: String?
    public var destinations: [Destination]
}

/// Counts for `status`, metrics and the systemd STATUS line.
public struct StoreStatus: Sendable, Codable {
    public struct DestinationCounts: Sendable, Codable {
        public var destination: String
        public var pending: Int
        public var delivered: Int
        public var dead: Int
        public var oldestPendingAt: Timestamp?
        public var pendingImmediate: Int
        /// When the oldest immediate referral still waiting here arrived.
        public var oldestImmediatePendingAt: Timestamp?
    }
    public struct AgencyCounts: Sendable, Codable {
        public var agency: String
        public var received: Int
        public var lastReceivedAt: Timestamp?
    }
    public var referrals: Int
    public var byReceipt: [String: Int]
    public var duplicates: Int
    public var destinations: [DestinationCounts]
    public var agencies: [AgencyCounts]
    public var auditEvents: Int

    public var pending: Int { destinations.reduce(0) { $0 + $1.pending } }
    public var dead: Int { destinations.reduce(0) { $0 + $1.dead } }
}
