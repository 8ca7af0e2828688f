import Foundation

/// The final response to a request. Printing it shows the status and sizes, never headers or the body.
public struct HTTPResponse: Sendable, CustomStringConvertible, CustomReflectable {
    public var status: Int
    /// Headers of the final response (not of any 1xx interim response), in order.
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    /// The body was longer than `TransferLimits.maxResponseBodyBytes`; `body` holds its start.
    public var bodyTruncated: Bool
    /// 1 (HTTP/1.x) or 2.
    public var httpVersion: Int
    public var totalTime: Duration
    /// The leaf certificate's notAfter, when the request asked for it.
    public var peerCertificateNotAfter: Date?
    /// New connections this transfer opened (0 when it reused one; CURLINFO_NUM_CONNECTS).
    public var newConnections: Int

    public init(
        status: Int,
        headers: [HTTPHeader] = [],
        body: [UInt8] = [],
        bodyTruncated: Bool = false,
        httpVersion: Int = 1,
        totalTime: Duration = .zero,
        peerCertificateNotAfter: Date? = nil,
        newConnections: Int = 0
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyTruncated = bodyTruncated
        self.httpVersion = httpVersion
        self.totalTime = totalTime
        self.peerCertificateNotAfter = peerCertificateNotAfter
        self.newConnections = newConnections
    }

    /// The first header called `name`, compared without regard to ASCII case.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public var description: String {
        "HTTP/\(httpVersion) \(status) (\(headers.count) headers, \(body.count) body bytes\(bodyTruncated ? ", truncated" : ""))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["status": status, "httpVersion": httpVersion, "headerCount": headers.count,
                                "bodyBytes": body.count, "bodyTruncated": bodyTruncated])
    }
}
