import Curl
import Foundation

/// A message downloaded from a MESH inbox: its `mex-*` headers and (reassembled) body. Hostile
/// input like any inbound file: identifiers that are not plain identifiers are dropped, and the
/// subject and file name are never read, since a sender may put personal data in them.
struct MESHInboundMessage: Sendable {
    enum Kind: Sendable, Equatable {
        case data
        case report
    }

    var messageID: String
    var kind: Kind
    var from: String
    var workflowID: String
    var localID: String?
    /// `mex-content-checksum`, when the sender gave one.
    var checksum: String?
    var totalChunks: Int
    /// `Content-Encoding` of what MESH sent (gzip when the sender compressed and MESH did not undo it).
    var contentEncoding: String?
    /// Reports: the message the report is about, and MESH's status.
    var linkedMessageID: String?
    var statusCode: String?
    var statusEvent: String?
    var statusSuccess: String?
    var statusDescription: String?
    var body: [UInt8]

    init(messageID: String, response: HTTPResponse) {
        func header(_ name: String) -> String? {
            guard let value = response.header(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
            return value
        }
        /// Identifiers are stored, logged and used as addresses: anything but a plain identifier is dropped.
        func identifier(_ name: String, maximumLength: Int = 300) -> String? {
            header(name).flatMap { MESHIdentifier.isValid($0, maximumLength: maximumLength) ? $0 : nil }
        }
        self.messageID = messageID
        kind = header("mex-messagetype")?.uppercased() == "REPORT" ? .report : .data
        from = identifier("mex-from", maximumLength: 20) ?? ""
        workflowID = identifier("mex-workflowid") ?? ""
        localID = identifier("mex-localid")
        checksum = header("mex-content-checksum").map { String($0.prefix(200)) }
        // `mex-total-chunks`, else the N of `mex-chunk-range: 1:N`; one when neither is sent.
        let rangeTotal = header("mex-chunk-range").flatMap { range in range.split(separator: ":").last.flatMap { Int($0) } }
        totalChunks = max(header("mex-total-chunks").flatMap { Int($0) } ?? rangeTotal ?? 1, 1)
        contentEncoding = header("content-encoding")?.lowercased()
        linkedMessageID = identifier("mex-linkedmsgid")
        statusCode = identifier("mex-statuscode", maximumLength: 20)
        statusEvent = identifier("mex-statusevent", maximumLength: 40)
        statusSuccess = header("mex-statussuccess")?.uppercased()
        statusDescription = header("mex-statusdescription").map { String($0.prefix(500)) }
        body = response.body
    }

    /// A report that says the message it concerns was not delivered.
    var isNonDeliveryReport: Bool { kind == .report && statusSuccess != "SUCCESS" }
}
