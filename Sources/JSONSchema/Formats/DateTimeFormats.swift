/// RFC 3339 dates and times and ISO 8601 durations, parsed by hand (no Foundation).
enum DateTimeFormats {
    /// YYYY-MM-DD with a real day of that month.
    static func isDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10 else { return false }
        return parseDate(bytes[...]) != nil
    }

    /// full-time: HH:MM:SS[.fraction](Z|±HH:MM); a leap second only at 23:59:60 UTC.
    static func isTime(_ text: String) -> Bool {
        parseTime(Array(text.utf8)[...])
    }

    /// full-date "T" full-time.
    static func isDateTime(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") else { return false }
        return parseDate(bytes[0..<10]) != nil && parseTime(bytes[11...])
    }

    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    private static func parseDate(_ bytes: ArraySlice<UInt8>) -> (year: Int, month: Int, day: Int)? {
        let start = bytes.startIndex
        guard bytes.count == 10, bytes[start + 4] == UInt8(ascii: "-"), bytes[start + 7] == UInt8(ascii: "-"),
            let year = number(bytes[start..<(start + 4)]), let month = number(bytes[(start + 5)..<(start + 7)]),
            let day = number(bytes[(start + 8)..<(start + 10)])
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        return (year, month, day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func parseTime(_ bytes: ArraySlice<UInt8>) -> Bool {
        let s = bytes.startIndex
        guard bytes.count >= 9, bytes[s + 2] == UInt8(ascii: ":"), bytes[s + 5] == UInt8(ascii: ":"),
            let hour = number(bytes[s..<(s + 2)]), let minute = number(bytes[(s + 3)..<(s + 5)]),
            let second = number(bytes[(s + 6)..<(s + 8)])
        else { return false }
        guard hour <= 23, minute <= 59, second <= 60 else { return false }
        var index = s + 8
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < bytes.endIndex, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > fractionStart else { return false }
        }
        guard index < bytes.endIndex else { return false }
        var offsetMinutes = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.endIndex else { return false }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.endIndex - index == 6, bytes[index + 3] == UInt8(ascii: ":"),
                let offsetHour = number(bytes[(index + 1)..<(index + 3)]),
                let offsetMinute = number(bytes[(index + 4)..<(index + 6)]), offsetHour <= 23, offsetMinute <= 59
            else { return false }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return false
        }
        if second == 60 {
            // A leap second is only ever 23:59:60 in UTC.
            let utc = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            return utc == 23 * 60 + 59
        }
        return true
    }

    /// ISO 8601 duration as in RFC 3339 appendix A: P[nY][nM][nD][T[nH][nM][nS]] or PnW.
    static func isDuration(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "P") else { return false }
        var index = 1
        var inTime = false
        var sawElement = false
        var sawTimeElement = false
        var order = 0  // position of the last unit, to enforce Y M D (T) H M S order
        var sawWeek = false
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "T") {
                guard !inTime else { return false }
                inTime = true
                order = 0
                index += 1
                continue
            }
            let digitsStart = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > digitsStart, index < bytes.count else { return false }
            let units: [UInt8] = inTime ? Array("HMS".utf8) : Array("YMDW".utf8)
            guard let unit = units.firstIndex(of: bytes[index]) else { return false }
            if !inTime && unit == 3 {
                guard !sawElement else { return false }
                sawWeek = true
            } else if sawWeek {
                return false
            }
            guard unit + 1 > order else { return false }
            order = unit + 1
            sawElement = true
            if inTime { sawTimeElement = true }
            index += 1
        }
        if inTime && !sawTimeElement { return false }
        return sawElement
    }
}
