/// Checks for identifiers: UUIDs, relative JSON pointers, and the UK identifiers of
/// referrals.md (NHS number, Unique Pupil Number, postcode).
enum IdentifierFormats {
    /// 8-4-4-4-12 hexadecimal digits.
    static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if index == 8 || index == 13 || index == 18 || index == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard isHexDigit(byte) else { return false }
            }
        }
        return true
    }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    /// A non-negative integer (no leading zeros) then "#" or a JSON pointer.
    static func isRelativeJSONPointer(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
        guard index > 0, !(bytes[0] == 0x30 && index > 1) else { return false }
        let rest = String(decoding: bytes[index...], as: UTF8.self)
        if rest == "#" { return true }
        return (try? JSONPointer(parsing: rest)) != nil
    }

    /// NHS number: spaces/hyphens stripped, 10 digits, mod-11 check digit. nil when valid, else
    /// what is wrong.
    static func nhsNumberProblem(_ text: String) -> String? {
        let digits = text.utf8.filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "-") }
        guard digits.count == 10, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            return "it should have 10 digits"
        }
        let values = digits.map { Int($0 - 0x30) }
        var sum = 0
        for index in 0..<9 { sum += values[index] * (10 - index) }
        var check = 11 - sum % 11
        if check == 11 { check = 0 }
        if check == 10 { return "no check digit is possible for its first nine digits" }
        return check == values[9] ? nil : "the check digit should be \(check)"
    }

    static let upnAlphabet = Array("ABCDEFGHJKLMNPQRTUVWXYZ".utf8)

    /// Unique Pupil Number: 13 characters, a check letter first (weights 2…13 over the rest,
    /// mod 23). nil when valid, else what is wrong.
    static func upnProblem(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 13 else { return "it should have 13 characters" }
        guard upnAlphabet.contains(bytes[0]) else { return "it should start with a check letter (not I, O or S)" }
        for index in 1..<12 where !(bytes[index] >= 0x30 && bytes[index] <= 0x39) {
            return "characters 2 to 12 should be digits"
        }
        var sum = 0
        for index in 1..<13 {
            let byte = bytes[index]
            let value: Int
            if byte >= 0x30 && byte <= 0x39 {
                value = Int(byte - 0x30)
            } else if let letter = upnAlphabet.firstIndex(of: byte), index == 12 {
                value = letter
            } else {
                return "the last character should be a digit or a letter other than I, O or S"
            }
            sum += value * (index + 1)
        }
        let expected = upnAlphabet[sum % 23]
        guard bytes[0] == expected else {
            return "the check letter should be \(Character(Unicode.Scalar(expected)))"
        }
        return nil
    }

    private static let postcode: ECMARegex? = try? ECMARegex(
        "^(GIR ?0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]([0-9]|[ABEHMNPRV-Y])?|[0-9][A-HJKPS-UW]) ?[0-9][ABD-HJLNP-UW-Z]{2})$"
    )

    /// UK postcode, upper-cased first; "ZZ99 3VZ" (no fixed abode) is accepted too.
    static func isUKPostcode(_ text: String) -> Bool {
        guard text.utf8.count <= 10 else { return false }
        let upper = String(decoding: text.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 32 : $0 }, as: UTF8.self)
        if upper == "ZZ99 3VZ" || upper == "ZZ993VZ" { return true }
        return postcode?.matches(upper) ?? false
    }
}
