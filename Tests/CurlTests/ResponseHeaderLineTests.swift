@testable import Curl
import Testing

/// Response header lines are read on bytes, as curl hands them over (CRLF included).
@Suite struct ResponseHeaderLineTests {
    static func parse(_ text: String) -> ResponseHeaderLine {
        Array(text.utf8).withUnsafeBufferPointer { ResponseHeaderLine.parse($0) }
    }

    @Test func headersAreSplitAtTheFirstColonAndTrimmedOfOptionalWhitespace() {
        #expect(Self.parse("Retry-After: 120\r\n") == .header(name: "Retry-After", value: "120"))
        #expect(Self.parse("Location:\thttps://partner.example/a:b \t\r\n") == .header(name: "Location", value: "https://partner.example/a:b"))
        #expect(Self.parse("X-Empty:\r\n") == .header(name: "X-Empty", value: ""))
        #expect(Self.parse("X-Name : spaced\r\n") == .header(name: "X-Name", value: "spaced"))
        #expect(Self.parse("mex-messageid: 20261126-ABC\n") == .header(name: "mex-messageid", value: "20261126-ABC"))
        // UTF-8 in a value is kept whole; a no-break space is not optional whitespace.
        #expect(Self.parse("X-Note: café\u{00A0}\r\n") == .header(name: "X-Note", value: "café\u{00A0}"))
    }

    @Test func statusLinesBlankLinesAndNonsenseAreTold() {
        #expect(Self.parse("HTTP/2 202\r\n") == .statusLine)
        #expect(Self.parse("HTTP/1.1 100 Continue\r\n") == .statusLine)
        #expect(Self.parse("\r\n") == .ignored)
        #expect(Self.parse("no colon here\r\n") == .ignored)
        #expect(Self.parse(": no name\r\n") == .ignored)
    }

    @Test func foldedLinesContinueThePreviousValue() {
        #expect(Self.parse(" more of it \r\n") == .continuation("more of it"))
        #expect(Self.parse("\tand: this\r\n") == .continuation("and: this"))
    }

    @Test func headerNamesCompareIgnoringASCIICaseOnly() {
        #expect(HTTPHeader.name("Content-Type", equalsLowercased: "content-type"))
        #expect(HTTPHeader.name("SET-COOKIE", equalsLowercased: "set-cookie"))
        #expect(!HTTPHeader.name("Content-Typ", equalsLowercased: "content-type"))
        #expect(!HTTPHeader.name("Content_Type", equalsLowercased: "content-type"))
        // Only A–Z fold: "K" (U+212A KELVIN SIGN) is not "k".
        #expect(!HTTPHeader.name("\u{212A}ey", equalsLowercased: "key"))
    }
}
