import Curl
import Foundation
import Testing
import TestSupport

/// Requests reach the partner exactly as given, answers come back whole, and connections are reused.
@Suite struct DeliveryTests {
    @Test func postDeliversExactBodyAndHeaders() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let body = Array(#"{"referralId":"r-1","note":"ünïcode"}"#.utf8)
            let request = HTTPRequest(
                url: partner.url(path: "/referrals"),
                headers: [HTTPHeader("Content-Type", "application/json"), HTTPHeader("X-Referral-Id", "r-1"),
                          HTTPHeader("Authorization", "Bearer secret-token", isSensitive: true)],
                body: body,
                tls: CurlTestFixture.trustingTLS(pki))
            let response = try await client.send(request)
            #expect(response.status == 202)
            #expect(response.body == Array(#"{"received": true}"#.utf8))
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("CONTENT-LENGTH") == "18")
            #expect(response.httpVersion == 1)
            #expect(!response.bodyTruncated)
            #expect(response.totalTime > .zero)

            let received = try partner.received(path: "/referrals")
            let only = try #require(received.count == 1 ? received.first : nil)
            #expect(only.method == "POST")
            #expect(only.body == body)
            #expect(only.header("content-type") == "application/json")
            #expect(only.header("content-length") == String(body.count))
            #expect(only.header("x-referral-id") == "r-1")
            #expect(only.header("authorization") == "Bearer secret-token")
            #expect(only.header("user-agent") == "referral-router")
            #expect(only.header("expect") == nil)
            #expect(only.status == 202)
            #expect(only.clientCertSubject == nil)
            #expect(client.transfersInFlight == 0)
        }
    }

    @Test func postWithoutContentTypeSendsNone() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            _ = try await client.send(HTTPRequest(url: partner.url(path: "/plain"), body: Array("a=b".utf8),
                                                  tls: CurlTestFixture.trustingTLS(pki)))
            let only = try #require(try partner.received(path: "/plain").first)
            // curl would otherwise claim application/x-www-form-urlencoded.
            #expect(only.header("content-type") == nil)
            #expect(only.bodyText == "a=b")
        }
    }

    @Test func putGetAndEmptyBodies() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = CurlTestFixture.trustingTLS(pki)
            _ = try await client.send(HTTPRequest(method: .put, url: partner.url(path: "/put"), body: Array("put-body".utf8), tls: tls))
            _ = try await client.send(HTTPRequest(method: .get, url: partner.url(path: "/get"), tls: tls))
            _ = try await client.send(HTTPRequest(method: .post, url: partner.url(path: "/empty"), tls: tls))
            let put = try #require(try partner.received(path: "/put").first)
            #expect(put.method == "PUT")
            #expect(put.bodyText == "put-body")
            let get = try #require(try partner.received(path: "/get").first)
            #expect(get.method == "GET")
            #expect(get.body.isEmpty)
            let empty = try #require(try partner.received(path: "/empty").first)
            #expect(empty.method == "POST")
            #expect(empty.body.isEmpty)
            #expect(empty.header("content-length") == "0")
        }
    }

    @Test func binaryBodyArrivesByteForByte() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let body: [UInt8] = [0x00, 0xFF, 0xFE, 0x0D, 0x0A, 0x00, 0x80] + Array(repeating: 0xC3, count: 5000)
            _ = try await client.send(HTTPRequest(url: partner.url(path: "/binary"), body: body,
                                                  tls: CurlTestFixture.trustingTLS(pki)))
            let only = try #require(try partner.received(path: "/binary").first)
            #expect(only.body == body)
        }
    }

    @Test func scriptedStatusHeadersAndBodyComeBack() async throws {
        let script = #"{"/busy": [{"status": 503, "headers": {"Retry-After": "2", "X-Trace": "abc"}, "body": "try later"}]}"#
        try await CurlTestFixture.withPartner(script: script) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let response = try await client.send(HTTPRequest(url: partner.url(path: "/busy"), tls: CurlTestFixture.trustingTLS(pki)))
            #expect(response.status == 503)
            #expect(response.header("retry-after") == "2")
            #expect(response.header("x-trace") == "abc")
            #expect(response.body == Array("try later".utf8))
        }
    }

    @Test func responseBodyIsCutAtTheLimit() async throws {
        let long = String(repeating: "x", count: 10_000)
        try await CurlTestFixture.withPartner(script: #"{"*": [{"status": 200, "body": "\#(long)"}]}"#) { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            var request = HTTPRequest(url: partner.url(path: "/long"), tls: CurlTestFixture.trustingTLS(pki))
            request.limits.maxResponseBodyBytes = 100
            let cut = try await client.send(request)
            #expect(cut.status == 200)
            #expect(cut.bodyTruncated)
            #expect(cut.body == Array(repeating: UInt8(ascii: "x"), count: 100))
            request.limits.maxResponseBodyBytes = 20_000
            let whole = try await client.send(request)
            #expect(!whole.bodyTruncated)
            #expect(whole.body.count == 10_000)
        }
    }

    @Test func malformedRequestsAreRefusedBeforeSending() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = CurlTestFixture.trustingTLS(pki)
            let cases: [HTTPRequest] = [
                HTTPRequest(url: partner.url(path: "/x"), headers: [HTTPHeader("X-Bad", "a\r\nX-Injected: 1")], tls: tls),
                HTTPRequest(url: partner.url(path: "/x"), headers: [HTTPHeader("Bad Name", "v")], tls: tls),
                HTTPRequest(method: .get, url: partner.url(path: "/x"), body: [1], tls: tls),
                HTTPRequest(url: partner.url(path: "/x"), tls: TLSConfiguration(caFile: pki.caCertificate, pinnedPublicKeys: ["md5//abc"])),
            ]
            for request in cases {
                let error = await #expect(throws: CurlError.self) { try await client.send(request) }
                #expect(error?.kind == .invalidRequest)
            }
            #expect(try partner.received().isEmpty)
        }
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let count = 200
            var opened = 0
            for index in 0..<count {
                let response = try await client.send(HTTPRequest(url: partner.url(path: "/seq"), body: Array("\(index)".utf8),
                                                                 tls: CurlTestFixture.trustingTLS(pki)))
                #expect(response.status == 202)
                opened += response.newConnections
            }
            let received = try partner.received(path: "/seq")
            #expect(received.count == count)
            #expect(received.map(\.bodyText) == (0..<count).map { "\($0)" })
            let connections = Set(received.map(\.connection))
            #expect(connections.count <= 2, "200 sequential requests used \(connections.count) connections")
            #expect(opened == connections.count)
            #expect(client.connectionsOpened == opened)
        }
    }

    @Test func hundredConcurrentRequestsAllSucceed() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let tls = CurlTestFixture.trustingTLS(pki)
            let url = partner.url(path: "/parallel")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        try await client.send(HTTPRequest(url: url, body: Array("\(index)".utf8), tls: tls)).status
                    }
                }
                var statuses: [Int] = []
                for try await status in group { statuses.append(status) }
                return statuses
            }
            #expect(statuses.count == 100)
            #expect(statuses.allSatisfy { $0 == 202 })
            let received = try partner.received(path: "/parallel")
            #expect(Set(received.map(\.bodyText)) == Set((0..<100).map { "\($0)" }))
            let connections = Set(received.map(\.connection)).count
            #expect(connections <= HTTPClient.Configuration().maxConnectionsPerHost)
            #expect(client.transfersInFlight == 0)
        }
    }

    @Test func reachesLocalhostAndIPv6Loopback() async throws {
        try await CurlTestFixture.withPartner { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            let response = try await client.send(HTTPRequest(url: "https://localhost:\(partner.port)/named",
                                                             tls: CurlTestFixture.trustingTLS(pki)))
            #expect(response.status == 202)
        }
        try await CurlTestFixture.withPartner(host: "::1") { partner, pki in
            let client = try HTTPClient()
            defer { client.shutdown() }
            #expect(partner.url(path: "/v6").hasPrefix("https://[::1]:"))
            let response = try await client.send(HTTPRequest(url: partner.url(path: "/v6"), tls: CurlTestFixture.trustingTLS(pki)))
            #expect(response.status == 202)
            #expect(try partner.received(path: "/v6").count == 1)
        }
    }
}
