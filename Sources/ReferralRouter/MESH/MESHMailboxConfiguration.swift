/// `[agency.mesh]`: an NHS MESH mailbox the router drains for one agency (issue 8). Referrals taken
/// from it are that agency's, exactly as if dropped into its inbound folder.
public struct MESHMailboxConfiguration: Sendable, Hashable {
    /// What happens to a message whose workflow id is not accepted: it is never routed, always
    /// recorded and counted, and then left in the mailbox (for another application that shares it)
    /// or acknowledged (removed).
    public enum UnacceptedWorkflowAction: String, Sendable, Hashable, CaseIterable {
        case leave
        case acknowledge
    }

    /// Where the sender's receipt goes for a referral that arrived over MESH.
    public enum ReceiptDelivery: String, Sendable, Hashable, CaseIterable {
        /// Sent back to the sending mailbox as a MESH message on `receiptWorkflowID`.
        case mesh
        /// Only written to the agency's receipts folder (as for dropped files).
        case folder
    }

    /// The MESH API rule: poll at most once every five minutes (and at least once a day).
    public static let minimumProductionPollInterval: Duration = .seconds(300)

    /// e.g. https://msg.int.spine2.ncrs.nhs.uk (no path).
    public var baseURL: String
    public var mailbox: String
    public var password: SecretReference
    public var sharedKey: SecretReference
    public var tls: TLSSettings
    /// `mex-workflowid` values taken as referrals.
    public var acceptedWorkflowIDs: [String]
    public var pollInterval: Duration
    public var unacceptedWorkflow: UnacceptedWorkflowAction
    public var receipts: ReceiptDelivery
    /// `mex-workflowid` of receipts sent back over MESH (required when `receipts` is `mesh`).
    public var receiptWorkflowID: String?
    /// `max_results` of one inbox page (MESH allows 10 to 5000).
    public var pageSize: Int

    public init(baseURL: String, mailbox: String, password: SecretReference, sharedKey: SecretReference, tls: TLSSettings,
                acceptedWorkflowIDs: [String], pollInterval: Duration = MESHMailboxConfiguration.minimumProductionPollInterval,
                unacceptedWorkflow: UnacceptedWorkflowAction = .leave, receipts: ReceiptDelivery = .mesh,
                receiptWorkflowID: String? = nil, pageSize: Int = 500) {
        self.baseURL = baseURL
        self.mailbox = mailbox
        self.password = password
        self.sharedKey = sharedKey
        self.tls = tls
        self.acceptedWorkflowIDs = acceptedWorkflowIDs
        self.pollInterval = pollInterval
        self.unacceptedWorkflow = unacceptedWorkflow
        self.receipts = receipts
        self.receiptWorkflowID = receiptWorkflowID
        self.pageSize = pageSize
    }
}

/// MESH identifiers (mailbox ids, workflow ids, message ids) go into URL paths and headers, so they
/// are kept to letters, digits and `_ - .`.
enum MESHIdentifier {
    static func isValid(_ text: String, maximumLength: Int = 100) -> Bool {
        guard !text.isEmpty, text.utf8.count <= maximumLength else { return false }
        return text.unicodeScalars.allSatisfy { scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                || scalar == "_" || scalar == "-" || scalar == "."
        }
    }
}
