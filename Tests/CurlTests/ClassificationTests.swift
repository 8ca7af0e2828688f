@testable import Curl
import Foundation
import Testing

/// curl's codes and texts map to the kinds the delivery policy decides on.
@Suite struct ClassificationTests {
    @Test(arguments: [
        (Int32(6), "Could not resolve host: example.invalid", CurlError.Kind.resolve),
        (5, "Could not resolve proxy: proxy", .resolve),
        (7, "Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server", .connect),
        (28, "Operation timed out after 1001 milliseconds with 0 bytes received", .timeout),
        (28, "Connection timed out after 10001 milliseconds", .timeout),
        (28, "Operation too slow. Less than 64 bytes/sec transferred the last 1 seconds", .lowSpeed),
        (60, "SSL certificate problem: unable to get local issuer certificate", .tlsVerification),
        (77, "error setting certificate file: /nope", .tlsVerification),
        (90, "SSL: public key does not match pinned public key", .pinMismatch),
        (58, "unable to set private key file: 'k' type PEM", .clientCertificate),
        (35, "OpenSSL/3.0 error:0A000410:SSL routines::sslv3 alert handshake failure", .tlsHandshake),
        (35, "error:0A000412:SSL routines::sslv3 alert bad certificate", .clientCertificate),
        (56, "OpenSSL SSL_read: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0", .clientCertificate),
        (56, "Recv failure: Connection reset by peer", .receive),
        (55, "Send failure: Broken pipe", .send),
        (52, "Empty reply from server", .receive),
        (18, "transfer closed with 10 bytes remaining to read", .receive),
        (16, "Error in the HTTP2 framing layer", .http2),
        (92, "Stream error in the HTTP/2 framing layer", .http2),
        (1, "Protocol \"http\" not supported", .unsupportedScheme),
        (3, "URL using bad/illegal format or missing URL", .invalidRequest),
        (27, "Out of memory", .other),
    ])
    func codeAndTextGiveKind(code: Int32, message: String, kind: CurlError.Kind) {
        let error = CurlError.classify(curlCode: code, message: message)
        #expect(error.kind == kind)
        #expect(error.curlCode == code)
        #expect(error.message == message)
    }

    @Test func emptyErrorBufferFallsBackToCurlsText() {
        let error = CurlError.classify(curlCode: 7, message: "")
        #expect(error.kind == .connect)
        #expect(!error.message.isEmpty)
    }

    @Test(arguments: [
        ("Mar 15 12:00:00 2026 GMT", 1_773_576_000.0),
        ("Jan  1 00:00:00 2030 GMT", 1_893_456_000.0),
        ("Feb 29 23:59:59 2028 GMT", 1_835_481_599.0),
    ])
    func certificateDatesParse(text: String, epoch: Double) {
        #expect(CertificateExpiry.parse(text)?.timeIntervalSince1970 == epoch)
    }

    @Test(arguments: ["", "Mar 15 12:00:00 2026", "Foo 15 12:00:00 2026 GMT", "Mar 32 12:00:00 2026 GMT", "Mar 15 25:00:00 2026 GMT"])
    func malformedCertificateDatesAreRejected(text: String) {
        #expect(CertificateExpiry.parse(text) == nil)
    }

    @Test(arguments: [
        ("https://127.0.0.1:8443/x", true),
        ("https://[::1]:8443/x", true),
        ("https://localhost/x", true),
        ("https://LOCALHOST/x", true),
        ("https://user:pw@127.0.0.1/x", true),
        ("https://127.0.0.1@example.invalid/", false),
        ("https://127.0.0.1.example.invalid/", false),
        ("https://example.invalid/?h=127.0.0.1", false),
        ("https://example.invalid/#127.0.0.1", false),
        ("https://127.0.0.2/", false),
    ])
    func loopbackIsJudgedOnTheParsedHost(url: String, isLoopback: Bool) throws {
        let parsed = try ParsedURL.parse(url).get()
        #expect(parsed.isLoopback == isLoopback, "\(parsed.host)")
    }
}
