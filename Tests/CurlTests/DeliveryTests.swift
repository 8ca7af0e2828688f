import Curl
import Foundation
import Testing
import TestSupport

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
            #expect(response.httpVersion == 1)
            #expect(!response.bodyTruncated)

            let received = try partner.received(path: "/referrals")
            let only = try #require(received.count == 1 ? received.first : nil)
            #expect(only.method == "POST")
            #expect(only.body == body)
            #expect(only.header("content-type") == "application/json")
            #expect(only.header("x-referral-id") == "r-1")
            #expect(only.header("authorization") == "Bearer secret-token")
            #expect(only.header("user-agent") == "referral-router")
            #expect(only.header("expect") == nil)
            #expect(only.status == 202)
            #expect(client.transfersInFlight == 0)
        }
    }
}
