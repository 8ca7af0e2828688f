import Curl
import Foundation
import JSONSchema

/// The MESH API v2 calls the router makes, for one mailbox. Every request carries a fresh
/// `NHSMESH` authorization and `Accept: application/vnd.mesh.v2+json`, over mutual TLS when
/// configured. Nothing here logs; nothing it throws or returns carries a secret or a message body.
struct MESHClient: Sendable {
    var baseURL: String
    var mailbox: String
    var password: Secret
    var sharedKey: Secret
    var tls: TLSConfiguration
    var limits: TransferLimits
    var client: HTTPClient

    static let acceptV2 = "application/vnd.mesh.v2+json"
    static let acceptV1 = "application/vnd.mesh.v1+json"

    private var origin: String { baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL }
    private var root: String { "\(origin)/messageexchange/\(mailbox)" }

    private func authorization() -> HTTPHeader {
        let value = password.withString { password in
            sharedKey.withString { key in
                MESHAuthorization.header(mailbox: mailbox, password: password, sharedKey: Array(key.utf8), now: .now())
            }
        }
        return HTTPHeader("Authorization", value, isSensitive: true)
    }

    func request(_ method: HTTPMethod, _ path: String, headers: [HTTPHeader] = [], body: [UInt8] = [],
                 accept: String = acceptV2, maxResponseBytes: Int? = nil, freshConnection: Bool = false) async throws(CurlError) -> HTTPResponse {
        try await send(method, url: root + path, headers: headers, body: body, accept: accept, maxResponseBytes: maxResponseBytes,
                       freshConnection: freshConnection)
    }

    private func send(_ method: HTTPMethod, url: String, headers: [HTTPHeader] = [], body: [UInt8] = [],
                      accept: String = acceptV2, maxResponseBytes: Int? = nil, freshConnection: Bool = false) async throws(CurlError) -> HTTPResponse {
        var limits = self.limits
        if let maxResponseBytes { limits.maxResponseBodyBytes = maxResponseBytes }
        let all = [authorization(), HTTPHeader("Accept", accept)] + headers
        // Asking for the peer certificate's expiry is what makes libcurl open a fresh connection.
        return try await client.send(HTTPRequest(method: method, url: url, headers: all, body: body, tls: tls, limits: limits,
                                                 collectPeerCertificateExpiry: freshConnection))
    }

    // MARK: - Outbox

    struct Outgoing: Sendable {
        var recipient: String
        var workflowID: String
        var localID: String
        var subject: String
        var fileName: String
        var contentType: String
        var body: [UInt8]
    }

    /// `POST outbox`: on 202 the response carries the new message id (and the response the MESH
    /// server certificate's expiry).
    ///
    /// Always on a fresh connection: when a reused connection dies before any answer, libcurl sends
    /// the request again by itself on a new one, which for this POST would be a second message that
    /// no tracking check preceded. A fresh connection is never retried that way.
    func send(_ message: Outgoing) async throws(CurlError) -> HTTPResponse {
        let checksum = "sha256:" + Digest.hex(Digest.sha256(message.body))
        return try await request(.post, "/outbox", headers: [
            HTTPHeader("Content-Type", "application/octet-stream"),
            HTTPHeader("mex-from", mailbox),
            HTTPHeader("mex-to", message.recipient),
            HTTPHeader("mex-workflowid", message.workflowID),
            HTTPHeader("mex-localid", message.localID),
            HTTPHeader("mex-subject", message.subject),
            HTTPHeader("mex-filename", message.fileName),
            HTTPHeader("mex-content-checksum", checksum),
            HTTPHeader("mex-content-type", message.contentType),
        ], body: message.body, freshConnection: true)
    }

    enum TrackingResult: Sendable, Equatable {
        /// MESH holds a message with this local id (its id, when it named exactly one).
        case found(String?)
        case notFound
        /// MESH refused the mailbox's credentials (401/403).
        case forbidden(status: Int)
        /// Anything else: whether the message exists cannot be told.
        case unknown(status: Int)
    }

    /// Looks a sent message up by our local id (the tracking endpoint's v1 form, the only one keyed
    /// by local id).
    func trackByLocalID(_ localID: String) async throws(CurlError) -> TrackingResult {
        let encoded = localID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? localID
        let response = try await request(.get, "/outbox/tracking/\(encoded)", accept: Self.acceptV1)
        switch response.status {
        case 200:
            // v1 tracking names the message `messageId` (and `dtsId`); accept the other spellings too.
            let document = try? JSONDocument(parsing: response.body)
            let id = ["messageId", "messageID", "message_id", "dtsId"].lazy.compactMap { document?.root[$0]?.stringValue }.first
            return id.map(TrackingResult.found) ?? .unknown(status: response.status)
        case 300:
            // More than one message carries this local id: it certainly arrived; never post another.
            return .found(nil)
        case 404:
            return .notFound
        case 401, 403:
            return .forbidden(status: response.status)
        default:
            return .unknown(status: response.status)
        }
    }

    /// The message id in a send response (`message_id` in v2, `messageID` in v1).
    static func messageID(in body: [UInt8]) -> String? {
        guard let document = try? JSONDocument(parsing: body) else { return nil }
        return document.root["message_id"]?.stringValue ?? document.root["messageID"]?.stringValue
    }

    // MARK: - Inbox

    /// One page of `GET inbox` (v2).
    struct InboxPage: Sendable {
        var messageIDs: [String]
        /// `links.next` as a path under this mailbox's inbox, when MESH has more.
        var next: String?
        var approximateCount: Int?
    }

    enum InboxError: Error, Sendable {
        case transport(CurlError)
        case forbidden(status: Int)
        case status(Int)
        case malformed
    }

    /// Lists one page: the first (`next` nil) or the one `links.next` named.
    func inboxPage(pageSize: Int, next: String?) async throws(InboxError) -> InboxPage {
        let response: HTTPResponse
        do {
            if let next {
                response = try await send(.get, url: origin + next, maxResponseBytes: 4 << 20)
            } else {
                response = try await request(.get, "/inbox?max_results=\(pageSize)", maxResponseBytes: 4 << 20)
            }
        } catch {
            throw .transport(error)
        }
        switch response.status {
        case 200: break
        case 401, 403: throw .forbidden(status: response.status)
        default: throw .status(response.status)
        }
        guard !response.bodyTruncated, let document = try? JSONDocument(parsing: response.body),
              let ids = document.root["messages"]?.arrayValue else { throw .malformed }
        var messageIDs: [String] = []
        for id in ids {
            guard let text = id.stringValue, MESHIdentifier.isValid(text) else { throw .malformed }
            messageIDs.append(text)
        }
        // Follow only a link back into this mailbox's inbox, on this server: an answer never sends
        // the router (and its credentials) anywhere else.
        let nextLink = document.root["links"]?["next"]?.stringValue
        let inboxPath = "/messageexchange/\(mailbox)/inbox"
        let safeNext = nextLink.flatMap { link -> String? in
            guard link.lowercased().hasPrefix(inboxPath.lowercased() + "?"), !link.contains("#"), link.utf8.count <= 4096,
                  link.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }) else { return nil }
            return link
        }
        return InboxPage(messageIDs: messageIDs, next: safeNext, approximateCount: document.root["approx_inbox_count"]?.numberValue?.intValue)
    }

    enum DownloadError: Error, Sendable {
        case transport(CurlError)
        case forbidden(status: Int)
        /// 404 or 410: gone (acknowledged elsewhere, expired).
        case gone(status: Int)
        case status(Int)
        /// The message is bigger than the router accepts; `bytes` is at least what was seen.
        case tooLarge(bytes: Int)
        case malformed(String)
    }

    /// Downloads a message, and every chunk of a chunked one, up to `maxBytes` in all.
    func download(messageID: String, maxBytes: Int) async throws(DownloadError) -> MESHInboundMessage {
        let first = try await fetch("/inbox/\(messageID)", maxBytes: maxBytes)
        var message = MESHInboundMessage(messageID: messageID, response: first)
        let total = message.totalChunks
        guard total <= 1000 else { throw .malformed("mex-total-chunks \(total) is more than 1000") }
        if total > 1 {
            var body = first.body
            for chunk in 2...total {
                let part = try await fetch("/inbox/\(messageID)/\(chunk)", maxBytes: maxBytes - body.count)
                body += part.body
            }
            message.body = body
        }
        return message
    }

    private func fetch(_ path: String, maxBytes: Int) async throws(DownloadError) -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await request(.get, path, maxResponseBytes: max(maxBytes, 0) + 1)
        } catch {
            throw .transport(error)
        }
        switch response.status {
        case 200, 206: break
        case 401, 403: throw .forbidden(status: response.status)
        case 404, 410: throw .gone(status: response.status)
        default: throw .status(response.status)
        }
        if response.bodyTruncated || response.body.count > maxBytes { throw .tooLarge(bytes: response.body.count) }
        return response
    }

    enum AcknowledgeResult: Sendable, Equatable {
        case acknowledged
        case forbidden(status: Int)
        case failed(status: Int)
    }

    /// `PUT inbox/{id}/status/acknowledged`: MESH removes the message from the inbox.
    func acknowledge(messageID: String) async throws(CurlError) -> AcknowledgeResult {
        let response = try await request(.put, "/inbox/\(messageID)/status/acknowledged")
        switch response.status {
        case 200...299: return .acknowledged
        case 401, 403: return .forbidden(status: response.status)
        default: return .failed(status: response.status)
        }
    }
}
