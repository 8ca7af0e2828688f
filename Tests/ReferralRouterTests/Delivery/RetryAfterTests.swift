import Testing
@testable import ReferralRouter

@Suite("Retry-After and HTTP dates")
struct RetryAfterTests {
    /// Sun, 06 Nov 1994 08:49:37 GMT, the example of RFC 9110.
    static let exampleDate = Timestamp(millisecondsSinceEpoch: 784_111_777_000)
    static let twoMinutesBefore = exampleDate.adding(.seconds(-120))

    @Test(arguments: [("120", 120), ("0", 0), (" 30 ", 30), ("86400", 86_400), ("007", 7)])
    func delaySecondsAreReadAsSeconds(text: String, seconds: Int64) {
        #expect(RetryAfter.parse(text, now: Self.exampleDate) == .seconds(seconds))
    }

    @Test(arguments: [
        "Sun, 06 Nov 1994 08:49:37 GMT",    // IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",   // RFC 850
        "Sun Nov  6 08:49:37 1994",         // asctime
        "sun, 06 nov 1994 08:49:37 gmt",    // names are case-insensitive
    ])
    func eachHTTPDateFormIsAnInstant(text: String) {
        #expect(HTTPDate.parse(text) == Self.exampleDate)
        #expect(RetryAfter.parse(text, now: Self.twoMinutesBefore) == .seconds(120))
    }

    @Test func aDateIsMeasuredFromNowToTheMillisecond() {
        let now = Self.exampleDate.adding(.milliseconds(-1500))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .milliseconds(1500))
    }

    @Test(arguments: [Self.exampleDate, Self.exampleDate.adding(.seconds(3600 * 24 * 365))])
    func aDateNotInTheFutureMeansNoWait(now: Timestamp) {
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .zero)
    }

    @Test func leapDaysAndCenturiesAreCountedRight() {
        #expect(HTTPDate.parse("Thu, 29 Feb 2024 12:00:00 GMT") == Timestamp(millisecondsSinceEpoch: 1_709_208_000_000))
        #expect(HTTPDate.parse("Wed, 01 Mar 2000 00:00:00 GMT") == Timestamp(millisecondsSinceEpoch: 951_868_800_000))
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == Timestamp(millisecondsSinceEpoch: 0))
    }

    @Test func twoDigitYearsPivotAtSeventy() {
        #expect(HTTPDate.parse("Thursday, 01-Jan-70 00:00:00 GMT") == Timestamp(millisecondsSinceEpoch: 0))
        #expect(HTTPDate.parse("Tuesday, 01-Jan-69 00:00:00 GMT") == Timestamp(millisecondsSinceEpoch: 3_124_224_000_000))
    }

    @Test(arguments: [
        nil, "", "   ", "soon", "-5", "+5", "1.5", "12abc", "Sun, 06 Nov 1994",
        "Sun, 06 Xyz 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT", "Sun, 06 Nov 1994 08:49 GMT", "Sunday, 06-Nov 08:49:37 GMT",
    ] as [String?])
    func malformedValuesAreIgnored(text: String?) {
        #expect(RetryAfter.parse(text, now: Self.twoMinutesBefore) == nil)
    }
}
