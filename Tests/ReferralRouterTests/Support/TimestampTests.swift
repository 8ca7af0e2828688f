import Foundation
import Testing
@testable import ReferralRouter

@Suite("Timestamp")
struct TimestampTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),           // a leap year divisible by 400
        (1_709_251_199_999, "2024-02-29T23:59:59.999Z"),
        (1_704_067_199_000, "2023-12-31T23:59:59.000Z"),
        (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),         // 2100 is not a leap year
        (-1, "1969-12-31T23:59:59.999Z"),
        (-1_000, "1969-12-31T23:59:59.000Z"),
        (-1_001, "1969-12-31T23:59:58.999Z"),
        (-86_400_000, "1969-12-31T00:00:00.000Z"),
        (-2_203_891_200_000, "1900-03-01T00:00:00.000Z"),        // 1900 is not a leap year either
        (-2_208_988_800_000, "1900-01-01T00:00:00.000Z"),
        (-11_670_998_400_000, "1600-02-29T00:00:00.000Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func rfc3339IsUTCWithMilliseconds(milliseconds: Int64, expected: String) {
        let timestamp = Timestamp(millisecondsSinceEpoch: milliseconds)
        #expect(timestamp.rfc3339 == expected)
        #expect(timestamp.description == expected)
    }

    @Test(arguments: [(Int64(5), ".005Z"), (50, ".050Z"), (500, ".500Z"), (1_764_090_000_007, ".007Z")])
    func millisecondsArePaddedToThreeDigits(milliseconds: Int64, suffix: String) {
        #expect(Timestamp(millisecondsSinceEpoch: milliseconds).rfc3339.hasSuffix(suffix))
    }

    /// Checked against Foundation's Gregorian calendar on random instants (from 1601, after the
    /// calendar's Julian cut-over) to 9999.
    @Test func agreesWithFoundationsGregorianCalendar() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var random = SplitMix64(seed: 3339)
        var disagreements: [String] = []
        for _ in 0..<2_000 {
            let milliseconds = Int64.random(in: -11_644_473_600_000...253_402_300_799_999, using: &random)
            let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second],
                                                from: Date(timeIntervalSince1970: Double(seconds)))
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.year ?? -1, parts.month ?? -1, parts.day ?? -1,
                                  parts.hour ?? -1, parts.minute ?? -1, parts.second ?? -1, Int(milliseconds - seconds * 1000))
            let actual = Timestamp(millisecondsSinceEpoch: milliseconds).rfc3339
            if actual != expected { disagreements.append("\(milliseconds): \(actual) vs \(expected)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, e.g. \(disagreements.first ?? "")")
    }

    @Test func addingADurationKeepsMillisecondsAndGoesBothWays() {
        let start = Timestamp(millisecondsSinceEpoch: 1_000_000)
        #expect(start.adding(.milliseconds(1500)).millisecondsSinceEpoch == 1_001_500)
        #expect(start.adding(.milliseconds(-1500)).millisecondsSinceEpoch == 998_500)
        #expect(start.adding(.seconds(3600)).millisecondsSinceEpoch == 4_600_000)
        #expect(start.adding(.microseconds(999)).millisecondsSinceEpoch == 1_000_000)
        #expect(start.adding(.zero) == start)
    }

    @Test func nowIsTheWallClock() {
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let now = Timestamp.now().millisecondsSinceEpoch
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(now >= before - 1 && now <= after + 1)
    }

    @Test func timestampsOrderByTime() {
        let earlier = Timestamp(millisecondsSinceEpoch: -5)
        let later = Timestamp(millisecondsSinceEpoch: 5)
        #expect(earlier < later)
        #expect(!(later < earlier))
        #expect([later, earlier].sorted() == [earlier, later])
    }
}

struct TimestampCodingTests {
    @Test func encodesAsRFC3339AndDecodesBothForms() throws {
        let time = Timestamp(millisecondsSinceEpoch: 1_764_090_951_123)
        let data = try JSONEncoder().encode([time])
        #expect(String(decoding: data, as: UTF8.self) == #"["2025-11-25T17:15:51.123Z"]"#)
        #expect(try JSONDecoder().decode([Timestamp].self, from: data) == [time])
        #expect(try JSONDecoder().decode([Timestamp].self, from: Data(#"[{"millisecondsSinceEpoch": 1764090951123}]"#.utf8)) == [time])
        #expect(Timestamp(rfc3339: "2025-11-25T17:15:51Z") == Timestamp(millisecondsSinceEpoch: 1_764_090_951_000))
        #expect(Timestamp(rfc3339: "2025-13-25T17:15:51Z") == nil)
        for sample in [0, 951_782_400_000, -86_400_000, 4_102_444_800_123] {
            let stamp = Timestamp(millisecondsSinceEpoch: Int64(sample))
            #expect(Timestamp(rfc3339: stamp.rfc3339) == stamp, "round trip \(stamp.rfc3339)")
        }
    }
}
