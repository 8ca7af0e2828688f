extension MESHMailboxConfiguration {
    /// Reads `[agency.mesh]`, recording every problem in the table's log. Nil when unusable.
    static func read(_ table: ConfigTable, configDirectory: String) -> MESHMailboxConfiguration? {
        let baseURL = table.requiredString("url")
        let mailbox = table.requiredString("mailbox")
        let password = table.secretReference("password")
        let sharedKey = table.secretReference("shared_key")
        if password == nil, !table.contains("password") { table.problem("password", "is required (credential:NAME or an absolute file path)") }
        if sharedKey == nil, !table.contains("shared_key") { table.problem("shared_key", "is required (credential:NAME or an absolute file path)") }
        let tls = RouterConfiguration.readTLS(table, configDirectory: configDirectory)

        if !table.contains("accepted_workflow_ids") { table.problem("accepted_workflow_ids", "is required: the mex-workflowid values taken as referrals") }
        let workflows = table.stringArray("accepted_workflow_ids")
        if table.contains("accepted_workflow_ids"), workflows.isEmpty { table.problem("accepted_workflow_ids", "must name at least one workflow id") }
        for (index, workflow) in workflows.enumerated() where !MESHIdentifier.isValid(workflow, maximumLength: 300) {
            table.problem("accepted_workflow_ids[\(index)]", "must use letters, digits, '_', '-' and '.'")
        }

        // MESH asks for a poll at most every five minutes and at least once a day; shorter only where
        // the operator states that the mailbox permits it.
        let defaultSeconds = minimumProductionPollInterval.seconds
        let pollInterval = table.seconds("poll_interval_seconds", default: defaultSeconds, range: 1...86400)
        let frequent = table.bool("allow_frequent_polling", default: false)
        if pollInterval < minimumProductionPollInterval, !frequent {
            table.problem("poll_interval_seconds", "is below 300: MESH asks that a mailbox be polled at most once every five minutes; set allow_frequent_polling = true only where the mailbox's terms permit it")
        }

        let unaccepted = table.choice("unaccepted_workflow", from: UnacceptedWorkflowAction.allCases.map(\.rawValue), default: "leave")
            .flatMap(UnacceptedWorkflowAction.init(rawValue:)) ?? .leave
        let receipts = table.choice("receipts", from: ReceiptDelivery.allCases.map(\.rawValue), default: "mesh")
            .flatMap(ReceiptDelivery.init(rawValue:)) ?? .mesh
        let receiptWorkflow = table.string("receipt_workflow_id")
        if receipts == .mesh, receiptWorkflow == nil, !table.contains("receipt_workflow_id") {
            table.problem("receipt_workflow_id", "is required when receipts = \"mesh\" (the mex-workflowid of receipts sent back to the sender)")
        }
        if let receiptWorkflow, !MESHIdentifier.isValid(receiptWorkflow, maximumLength: 300) {
            table.problem("receipt_workflow_id", "must use letters, digits, '_', '-' and '.'")
        }
        let pageSize = table.integer("inbox_page_size", default: 500, range: 10...5000)

        guard let baseURL, let mailbox, let password, let sharedKey else { return nil }
        guard URLHost.of(baseURL) != nil else {
            table.problem("url", "must be an https:// URL with a host")
            return nil
        }
        guard MESHIdentifier.isValid(mailbox, maximumLength: 20) else {
            table.problem("mailbox", "must be a MESH mailbox id (letters and digits)")
            return nil
        }
        RouterConfiguration.checkLoopbackOnlyVerification(table, url: baseURL, tls: tls, key: "url")
        return MESHMailboxConfiguration(baseURL: baseURL, mailbox: mailbox.uppercased(), password: password, sharedKey: sharedKey, tls: tls,
                                        acceptedWorkflowIDs: workflows, pollInterval: pollInterval, unacceptedWorkflow: unaccepted,
                                        receipts: receipts, receiptWorkflowID: receiptWorkflow, pageSize: pageSize)
    }
}
