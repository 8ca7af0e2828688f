import Foundation

/// Wall-clock time as milliseconds since the Unix epoch: what is stored and shown. Intervals are
/// measured on the monotonic clock instead (`ContinuousClock`); this type never measures a wait.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func now() -> Timestamp {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Timestamp(millisecondsSinceEpoch: Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000)
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch }

    public func adding(_ duration: Duration) -> Timestamp {
        let parts = duration.components
        return Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
    }

    public var date: Date { Date(timeIntervalSince1970: Double(millisecondsSinceEpoch) / 1000) }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-25T17:15:51.123Z`.
    public var rfc3339: String {
        let millis = millisecondsSinceEpoch
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = Int(millis - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = Int(seconds - days * 86400)
        let (year, month, day) = Self.civil(fromDays: days)
        return "\(Self.pad(year, 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))T\(Self.pad(secondOfDay / 3600, 2)):\(Self.pad(secondOfDay / 60 % 60, 2)):\(Self.pad(secondOfDay % 60, 2)).\(Self.pad(fraction, 3))Z"
    }

    public var description: String { rfc3339 }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    private static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}

/// In JSON (status.json and the like) a timestamp is its RFC 3339 text, like every other time the
/// router writes. Decoding also takes the milliseconds form of earlier files.
extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let parsed = Timestamp(rfc3339: text) {
            self = parsed
        } else if let legacy = try? decoder.container(keyedBy: LegacyKeys.self),
                  let milliseconds = try? legacy.decode(Int64.self, forKey: .millisecondsSinceEpoch) {
            self.init(millisecondsSinceEpoch: milliseconds)
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an RFC 3339 UTC timestamp")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rfc3339)
    }

    private enum LegacyKeys: String, CodingKey { case millisecondsSinceEpoch }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC, as the router writes).
    public init?(rfc3339 text: String) {
        let scalars = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= scalars.count else { return nil }
            var value = 0
            for index in range {
                guard (0x30...0x39).contains(scalars[index]) else { return nil }
                value = value * 10 + Int(scalars[index] - 0x30)
            }
            return value
        }
        guard scalars.count >= 20, scalars[4] == 0x2d, scalars[7] == 0x2d, scalars[10] == 0x54 || scalars[10] == 0x74,
              scalars[13] == 0x3a, scalars[16] == 0x3a, scalars.last == 0x5a || scalars.last == 0x7a,
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var millis = 0
        if scalars[19] == 0x2e {
            let digits = scalars[20..<(scalars.count - 1)]
            guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            for (position, digit) in digits.prefix(3).enumerated() { millis += Int(digit - 0x30) * [100, 10, 1][position] }
        } else if scalars.count != 20 {
            return nil
        }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
        self.init(millisecondsSinceEpoch: seconds * 1000 + Int64(millis))
    }
}
