import Foundation

/// Exponential backoff with full jitter (wait random(0, min(cap, base·2^n))), with a partner's
/// `Retry-After` honoured as a floor and clamped. Pure: the random source is passed in.
public struct RetryPolicy: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration
    public var retryAfterMax: Duration

    public init(base: Duration, cap: Duration, retryAfterMax: Duration) {
        self.base = base
        self.cap = cap
        self.retryAfterMax = retryAfterMax
    }

    init(_ settings: DeliverySettings) {
        self.init(base: settings.retryBase, cap: settings.retryCap, retryAfterMax: settings.retryAfterMax)
    }

    /// The wait before attempt `failedAttempts + 1`, given `failedAttempts` ≥ 1 failures so far.
    public func delay(afterFailedAttempts failedAttempts: Int, retryAfter: Duration?, using random: inout some RandomNumberGenerator) -> Duration {
        let exponent = Double(min(max(failedAttempts - 1, 0), 60))
        let ceilingSeconds = min(cap.seconds, base.seconds * pow(2, exponent))
        let ceilingMilliseconds = max(Int64(ceilingSeconds * 1000), 0)
        let jittered = Duration.milliseconds(ceilingMilliseconds == 0 ? 0 : Int64.random(in: 0...ceilingMilliseconds, using: &random))
        guard let retryAfter else { return jittered }
        let floor = min(max(retryAfter, .zero), retryAfterMax)
        return max(jittered, floor)
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
public enum RetryAfter {
    /// The delay the header asks for, measured from `now` for a date; nil when absent or malformed.
    public static func parse(_ value: String?, now: Timestamp) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.allSatisfy(\.isASCIIDigit) {
            guard let seconds = Int64(value.prefix(12)) else { return nil }
            return .seconds(seconds)
        }
        guard let date = HTTPDate.parse(value) else { return nil }
        let milliseconds = date.millisecondsSinceEpoch - now.millisecondsSinceEpoch
        return .milliseconds(max(milliseconds, 0))
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// asctime (`Sun Nov  6 08:49:37 1994`).
enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    static func parse(_ text: String) -> Timestamp? {
        let parts = text.replacingOccurrences(of: ",", with: " ").split(whereSeparator: { $0 == " " })
        var day: Int?, month: Int?, year: Int?, time: (Int, Int, Int)?
        for part in parts {
            let lower = part.lowercased()
            if let index = months.firstIndex(of: String(lower.prefix(3))), lower.count >= 3, !lower.contains("-") {
                month = index + 1
            } else if part.contains(":") {
                let fields = part.split(separator: ":").compactMap { Int($0) }
                if fields.count == 3 { time = (fields[0], fields[1], fields[2]) }
            } else if part.contains("-") {
                let fields = part.split(separator: "-")
                if fields.count == 3, let d = Int(fields[0]), let m = months.firstIndex(of: fields[1].lowercased()), let y = Int(fields[2]) {
                    day = d
                    month = m + 1
                    year = y < 100 ? (y < 70 ? 2000 + y : 1900 + y) : y
                }
            } else if let number = Int(part) {
                if number > 31 { year = number } else { day = number }
            }
        }
        guard let day, let month, let year, let (hour, minute, second) = time,
              (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
        return Timestamp(millisecondsSinceEpoch: seconds * 1000)
    }

    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
