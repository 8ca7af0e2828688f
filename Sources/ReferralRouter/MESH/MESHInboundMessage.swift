import Curl
import Foundation

/// A message downloaded from a MESH inbox: its `mex-*` headers and (reassembled) body. Hostile
/// input like any inbound file; the subject and file name are never logged nor stored, since a
/// sender may put personal data in them.
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
        self.messageID = messageID
        kind = header("mex-messagetype")?.uppercased() == "REPORT" ? .report : .data
        from = header("mex-from") ?? ""
        workflowID = header("mex-workflowid") ?? ""
        localID = header("mex-localid")
        checksum = header("mex-content-checksum")
        // `mex-total-chunks`, else the N of `mex-chunk-range: 1:N`; one when neither is sent.
        let rangeTotal = header("mex-chunk-range").flatMap { range in range.split(separator: ":").last.flatMap { Int($0) } }
        totalChunks = max(header("mex-total-chunks").flatMap { Int($0) } ?? rangeTotal ?? 1, 1)
        contentEncoding = header("content-encoding")?.lowercased()
        linkedMessageID = header("mex-linkedmsgid")
        statusCode = header("mex-statuscode")
        statusEvent = header("mex-statusevent")
        statusSuccess = header("mex-statussuccess")?.uppercased()
        statusDescription = header("mex-statusdescription")
        body = response.body
    }

    /// A report that says the message it concerns was not delivered.
    var isNonDeliveryReport: Bool { kind == .report && statusSuccess != "SUCCESS" }
}
