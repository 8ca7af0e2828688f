import Curl
import Foundation
import Testing
import TestSupport

/// HTTP/2 is negotiated where offered and concurrent requests share one connection.
/// Needs nginx (Debian nginx-light), which speaks HTTP/2; skipped where it is not installed.
@Suite(.enabled(if: NginxPartner.executable != nil, "nginx-light is not installed"))
struct HTTP2Tests {
    @Test func concurrentRequestsAreMultiplexedOverHTTP2() async throws {
        let pki = try CurlTestFixture.pki()
        let nginx = try NginxPartner(pki: pki)
        let client = try HTTPClient()
        defer { client.shutdown() }
        let tls = CurlTestFixture.trustingTLS(pki)

        let first = try await client.send(HTTPRequest(url: nginx.url(path: "/referrals"), body: Array("{}".utf8), tls: tls))
        #expect(first.status == 202)
        #expect(first.httpVersion == 2)
        #expect(first.body == Array(#"{"received": true}"#.utf8))

        // GETs: nginx's `return` can reset a stream whose body it has not read (see
        // shared/design/machine-figures.md), which is not what this test is about.
        let url = nginx.url(path: "/parallel")
        let responses = try await withThrowingTaskGroup(of: HTTPResponse.self) { group in
            for _ in 0..<100 {
                group.addTask { try await client.send(HTTPRequest(method: .get, url: url, tls: tls)) }
            }
            var responses: [HTTPResponse] = []
            for try await response in group { responses.append(response) }
            return responses
        }
        #expect(responses.count == 100)
        #expect(responses.allSatisfy { $0.status == 202 && $0.httpVersion == 2 })
        // Multiplexed: the connection of the first request carries (nearly) all the rest.
        #expect(client.connectionsOpened <= 2, "\(client.connectionsOpened) connections for 101 requests")
    }
}
