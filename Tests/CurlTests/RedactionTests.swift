import Curl
import Foundation
import Testing

/// Secrets, sensitive headers and bodies never show up when values are printed or dumped.
@Suite struct RedactionTests {
    @Test func secretIsNeverPrinted() {
        let secret = Secret("hunter2-passphrase")
        #expect(secret.description == "<redacted>")
        #expect(secret.debugDescription == "<redacted>")
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(!dumped.contains("104"))  // nor its bytes ("h" is 104)
        #expect(secret.withString { $0 } == "hunter2-passphrase")
        #expect(Secret(Array("hunter2-passphrase".utf8)) == secret)
        #expect(Secret("other") != secret)
    }

    @Test func tlsConfigurationDoesNotRevealItsPassphrase() {
        let tls = TLSConfiguration(clientKeyPassphrase: Secret("key-pass-1234"))
        var dumped = ""
        dump(tls, to: &dumped)
        #expect(!dumped.contains("key-pass-1234"))
        #expect(!"\(tls)".contains("key-pass-1234"))
    }

    @Test func sensitiveHeaderValueIsNeverPrinted() {
        let header = HTTPHeader("Authorization", "Bearer abc.def", isSensitive: true)
        #expect(header.description == "Authorization: <redacted>")
        var dumped = ""
        dump(header, to: &dumped)
        #expect(!dumped.contains("abc.def"))
        #expect(HTTPHeader("X-Id", "42").description == "X-Id: 42")
    }

    @Test func requestAndResponsePrintNoHeadersOrBody() {
        let request = HTTPRequest(url: "https://127.0.0.1/referrals",
                                  headers: [HTTPHeader("Authorization", "Bearer tok-xyz", isSensitive: true)],
                                  body: Array(#"{"name":"Jane Example"}"#.utf8))
        for text in ["\(request)", String(reflecting: request), dumpText(request)] {
            #expect(!text.contains("Jane"))
            #expect(!text.contains("tok-xyz"))
        }
        #expect(request.description == "POST https://127.0.0.1/referrals (1 headers, 23 body bytes)")
        let response = HTTPResponse(status: 202, headers: [HTTPHeader("Set-Cookie", "s=1")], body: Array("Jane Example".utf8))
        for text in ["\(response)", dumpText(response)] {
            #expect(!text.contains("Jane"))
            #expect(!text.contains("s=1"))
        }
        #expect(response.description == "HTTP/1 202 (1 headers, 12 body bytes)")
    }

    @Test func requestPrintsNoURLCredentialsQueryOrFragment() {
        let request = HTTPRequest(url: "https://user:pa55@127.0.0.1:8443/referrals?token=abc#frag")
        #expect(request.description == "POST https://127.0.0.1:8443/referrals (0 headers, 0 body bytes)")
        let text = dumpText(request)
        #expect(!text.contains("pa55") && !text.contains("abc") && !text.contains("frag"))
        #expect(HTTPRequest(url: "https://a/b@c").description == "POST https://a/b@c (0 headers, 0 body bytes)")
    }

    @Test func curlErrorDescriptionNamesKindAndCode() {
        #expect(CurlError(kind: .connect, curlCode: 7, message: "Failed to connect").description == "connect (curl 7): Failed to connect")
        #expect(CurlError(kind: .cancelled, message: "the task was cancelled").description == "cancelled: the task was cancelled")
    }

    @Test func responseHeaderLookupIgnoresCase() {
        let response = HTTPResponse(status: 503, headers: [HTTPHeader("Retry-After", "2"), HTTPHeader("retry-after", "9")])
        #expect(response.header("RETRY-AFTER") == "2")
        #expect(response.header("x-absent") == nil)
    }

    private func dumpText<T>(_ value: T) -> String {
        var text = ""
        dump(value, to: &text)
        return text
    }
}
