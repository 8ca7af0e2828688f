import Curl
import Foundation
import JSONSchema

/// The few MESH API v2 calls the router makes, for one mailbox. Every request carries a fresh
/// `NHSMESH` authorization and `Accept: application/vnd.mesh.v2+json`, over mutual TLS when
/// configured. Nothing here logs.
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

    private var root: String {
        let trimmed = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        return "\(trimmed)/messageexchange/\(mailbox)"
    }

    private func authorization() -> HTTPHeader {
        let value = password.withString { password in
            sharedKey.withString { key in
                MESHAuthorization.header(mailbox: mailbox, password: password, sharedKey: Array(key.utf8), now: .now())
            }
        }
        return HTTPHeader("Authorization", value, isSensitive: true)
    }

    func request(_ method: HTTPMethod, _ path: String, headers: [HTTPHeader] = [], body: [UInt8] = [],
                 accept: String = acceptV2) async throws(CurlError) -> HTTPResponse {
        let all = [authorization(), HTTPHeader("Accept", accept)] + headers
        return try await client.send(HTTPRequest(method: method, url: root + path, headers: all, body: body, tls: tls, limits: limits))
    }

    struct Outgoing: Sendable {
        var recipient: String
        var workflowID: String
        var localID: String
        var subject: String
        var fileName: String
        var contentType: String
        var body: [UInt8]
    }

    /// `POST outbox`: on 202 the response carries the new message id.
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
        ], body: message.body)
    }

    /// Looks a sent message up by our local id (the tracking endpoint's v1 form, the only one keyed
    /// by local id). Returns the message id when MESH has it, nil when it does not.
    func trackByLocalID(_ localID: String) async throws(CurlError) -> TrackingResult {
        let encoded = localID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? localID
        let response = try await request(.get, "/outbox/tracking/\(encoded)", accept: Self.acceptV1)
        switch response.status {
        case 200:
            let document = try? JSONDocument(parsing: response.body)
            let id = document?.root["messageID"]?.stringValue ?? document?.root["message_id"]?.stringValue
            return id.map(TrackingResult.found) ?? .unknown(status: response.status)
        case 404:
            return .notFound
        default:
            return .unknown(status: response.status)
        }
    }

    enum TrackingResult: Sendable, Equatable {
        case found(String)
        case notFound
        case unknown(status: Int)
    }

    /// The message id in a send response (`message_id` in v2, `messageID` in v1).
    static func messageID(in body: [UInt8]) -> String? {
        guard let document = try? JSONDocument(parsing: body) else { return nil }
        return document.root["message_id"]?.stringValue ?? document.root["messageID"]?.stringValue
    }
}
