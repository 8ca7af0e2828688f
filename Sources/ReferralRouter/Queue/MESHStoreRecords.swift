/// What the store already knows of an inbound MESH message id: a message seen again (after a crash
/// between commit and acknowledgement, or one deliberately left in the mailbox).
public enum MESHKnownMessage: Sendable, Equatable {
    /// It became this referral (accepted or rejected).
    case referral(rowID: Int64, referralId: String)
    /// It was recorded with another outcome.
    case recorded(outcome: MESHMessageOutcome, acknowledged: Bool)
}

/// What an inbound MESH message became.
public enum MESHMessageOutcome: String, Sendable, Hashable {
    case referral
    /// The same agency had already sent exactly this content: recorded, not queued twice.
    case duplicate
    /// Its workflow id is not accepted for the mailbox: never routed.
    case unacceptedWorkflow = "unaccepted-workflow"
    case report
}

/// One inbound MESH message's handling, recorded after intake committed it and before it is
/// acknowledged.
public struct MESHMessageRecord: Sendable {
    public var messageID: String
    public var agency: String
    public var mailbox: String
    public var sender: String
    public var workflowID: String
    public var outcome: MESHMessageOutcome
    public var referralRowID: Int64?
    /// A receipt owed to the sender over MESH, queued in the same transaction.
    public var receipt: MESHReceiptRequest?
    public var at: Timestamp

    public init(messageID: String, agency: String, mailbox: String, sender: String, workflowID: String, outcome: MESHMessageOutcome,
                referralRowID: Int64?, receipt: MESHReceiptRequest?, at: Timestamp) {
        self.messageID = messageID
        self.agency = agency
        self.mailbox = mailbox
        self.sender = sender
        self.workflowID = workflowID
        self.outcome = outcome
        self.referralRowID = referralRowID
        self.receipt = receipt
        self.at = at
    }
}

/// Where a receipt for a MESH referral goes: the sending mailbox, on the configured workflow.
public struct MESHReceiptRequest: Sendable, Hashable {
    public var recipient: String
    public var workflowID: String

    public init(recipient: String, workflowID: String) {
        self.recipient = recipient
        self.workflowID = workflowID
    }
}

/// A MESH report (`mex-messagetype: REPORT`) taken from a mailbox.
public struct MESHReport: Sendable {
    public var messageID: String
    public var agency: String
    public var mailbox: String
    /// The message the report concerns (`mex-linkedmsgid`) and its local id (`mex-localid`).
    public var linkedMessageID: String?
    public var localID: String?
    public var workflowID: String
    public var statusCode: String?
    public var statusEvent: String?
    public var success: Bool
    /// MESH's own description (sanitised, never a referral's content).
    public var description: String?
    public var at: Timestamp

    public init(messageID: String, agency: String, mailbox: String, linkedMessageID: String?, localID: String?, workflowID: String,
                statusCode: String?, statusEvent: String?, success: Bool, description: String?, at: Timestamp) {
        self.messageID = messageID
        self.agency = agency
        self.mailbox = mailbox
        self.linkedMessageID = linkedMessageID
        self.localID = localID
        self.workflowID = workflowID
        self.statusCode = statusCode
        self.statusEvent = statusEvent
        self.success = success
        self.description = description
        self.at = at
    }
}

/// What a MESH report was found to concern.
public enum MESHReportMatch: Sendable, Equatable {
    /// A delivery the router sent through a MESH destination was not delivered: now failed.
    case deliveryFailed(referralRowID: Int64, referralId: String, destination: String)
    /// A delivery the router sent was confirmed.
    case deliveryConfirmed(referralId: String, destination: String)
    /// A receipt the router sent back to a MESH sender.
    case receipt(referralId: String, failed: Bool)
    /// Nothing the router sent: recorded.
    case unmatched
    /// This report was already recorded (seen again after a crash).
    case alreadyRecorded
}

/// A receipt waiting to be sent to a MESH sender.
public struct MESHPendingReceipt: Sendable {
    public var id: Int64
    public var referralRowID: Int64
    public var stage: String
    public var recipient: String
    public var workflowID: String
    public var localID: String
    public var attempts: Int
}

/// The result of one attempt to send a receipt over MESH.
public enum MESHReceiptAttemptResult: Sendable {
    case sent(messageID: String?)
    /// Still pending: tried again at the next poll.
    case retry(code: String)
    /// Abandoned (an alert has been raised).
    case failed(code: String)
}
