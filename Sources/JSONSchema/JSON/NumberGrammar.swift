/// The RFC 8259 number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
enum NumberGrammar {
    struct Shape {
        /// Offset just past the number.
        var end: Int
        /// No fraction and no exponent, and not "-0" (whose literal must be kept).
        var isPlainInteger: Bool
    }

    /// Scans a number starting at `start`. nil when the text is not a number at all.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Shape? {
        switch scanDetailed(bytes, from: start) {
        case .success(let shape): return shape
        case .failure: return nil
        }
    }

    struct ScanError: Error {
        var offset: Int
        var reason: String
    }

    static func scanDetailed(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Result<Shape, ScanError> {
        var i = start
        let end = bytes.count
        var negative = false
        if i < end, bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        guard i < end else { return .failure(ScanError(offset: i, reason: "a number needs digits after the minus sign")) }
        let firstDigit = bytes[i]
        if firstDigit == UInt8(ascii: "0") {
            i += 1
            if i < end, isDigit(bytes[i]) {
                return .failure(ScanError(offset: i, reason: "numbers must not have leading zeros"))
            }
        } else if isDigit(firstDigit) {
            i += 1
            while i < end, isDigit(bytes[i]) { i += 1 }
        } else {
            return .failure(ScanError(offset: i, reason: "a number must start with a digit"))
        }
        var plain = true
        if i < end, bytes[i] == UInt8(ascii: ".") {
            plain = false
            i += 1
            guard i < end, isDigit(bytes[i]) else {
                return .failure(ScanError(offset: i, reason: "a decimal point must be followed by digits"))
            }
            while i < end, isDigit(bytes[i]) { i += 1 }
        }
        if i < end, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            plain = false
            i += 1
            if i < end, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < end, isDigit(bytes[i]) else {
                return .failure(ScanError(offset: i, reason: "an exponent must have digits"))
            }
            while i < end, isDigit(bytes[i]) { i += 1 }
        }
        let isNegativeZero = negative && firstDigit == UInt8(ascii: "0") && i == start + 2
        return .success(Shape(end: i, isPlainInteger: plain && !isNegativeZero))
    }

    /// The value of a plain integer literal of at most 18 digits (always fits in Int); else nil.
    static func smallInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        var negative = false
        if bytes.count > 0, bytes[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        guard bytes.count - i <= 18 else { return nil }
        var value = 0
        while i < bytes.count {
            value = value &* 10 &+ Int(bytes[i] &- 48)
            i += 1
        }
        return negative ? -value : value
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- 48 < 10
    }
}
