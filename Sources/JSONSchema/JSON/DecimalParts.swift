/// A number as `(-1)^negative × digits × 10^exponent`, normalised: `digits` has no leading or
/// trailing zeros (empty for zero). Used for exact comparison, hashing and `multipleOf`.
struct DecimalParts: Hashable {
    var negative: Bool
    /// Significant decimal digits, values 0...9.
    var digits: [UInt8]
    var exponent: Int

    /// Exponents beyond this are clamped; such literals are far outside Double's range anyway.
    private static let exponentLimit = 1_000_000_000

    init(integer value: Int) {
        negative = value < 0
        var magnitude = value.magnitude
        var reversed: [UInt8] = []
        var exponent = 0
        while magnitude > 0 {
            let digit = UInt8(magnitude % 10)
            magnitude /= 10
            if digit == 0 && reversed.isEmpty {
                exponent += 1
            } else {
                reversed.append(digit)
            }
        }
        digits = reversed.reversed()
        self.exponent = digits.isEmpty ? 0 : exponent
        if digits.isEmpty { negative = false }
    }

    /// Parses a literal already known to match the JSON number grammar (or Swift's `Double`
    /// description, which uses the same shape).
    init(literal: String) {
        var negative = false
        var digits: [UInt8] = []
        var exponent = 0
        var fractionDigits = 0
        var inFraction = false
        var explicitExponent = 0
        var exponentNegative = false
        var inExponent = false
        for byte in literal.utf8 {
            switch byte {
            case UInt8(ascii: "-"):
                if inExponent { exponentNegative = true } else { negative = true }
            case UInt8(ascii: "+"):
                break
            case UInt8(ascii: "."):
                inFraction = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                inExponent = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = byte - UInt8(ascii: "0")
                if inExponent {
                    if explicitExponent < DecimalParts.exponentLimit {
                        explicitExponent = explicitExponent * 10 + Int(digit)
                    }
                } else {
                    if inFraction { fractionDigits += 1 }
                    if !(digits.isEmpty && digit == 0) { digits.append(digit) }
                }
            default:
                break
            }
        }
        exponent = (exponentNegative ? -explicitExponent : explicitExponent) - fractionDigits
        var trailingZeros = 0
        while let last = digits.last, last == 0 {
            digits.removeLast()
            trailingZeros += 1
        }
        exponent += trailingZeros
        if digits.isEmpty {
            negative = false
            exponent = 0
        }
        self.negative = negative
        self.digits = digits
        self.exponent = exponent
    }

    var isZero: Bool { digits.isEmpty }

    var isInteger: Bool { exponent >= 0 }

    /// The exact value when integral and within Int.
    var exactInt: Int? {
        guard isInteger else { return nil }
        if isZero { return 0 }
        guard digits.count + exponent <= 19 else { return nil }
        var magnitude: UInt64 = 0
        for digit in digits {
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(digit))
            if o1 || o2 { return nil }
            magnitude = a
        }
        for _ in 0..<exponent {
            let (m, o) = magnitude.multipliedReportingOverflow(by: 10)
            if o { return nil }
            magnitude = m
        }
        if negative {
            if magnitude == UInt64(Int.max) + 1 { return Int.min }
            guard magnitude <= UInt64(Int.max) else { return nil }
            return -Int(magnitude)
        }
        guard magnitude <= UInt64(Int.max) else { return nil }
        return Int(magnitude)
    }

    /// -1, 0 or 1 by exact value.
    static func compare(_ a: DecimalParts, _ b: DecimalParts) -> Int {
        if a.isZero && b.isZero { return 0 }
        if a.negative != b.negative || a.isZero || b.isZero {
            let signA = a.isZero ? 0 : (a.negative ? -1 : 1)
            let signB = b.isZero ? 0 : (b.negative ? -1 : 1)
            return signA < signB ? -1 : (signA == signB ? 0 : 1)
        }
        let magnitude = compareMagnitude(a, b)
        return a.negative ? -magnitude : magnitude
    }

    private static func compareMagnitude(_ a: DecimalParts, _ b: DecimalParts) -> Int {
        // Position of the leading digit decides first.
        let leadA = a.digits.count + a.exponent
        let leadB = b.digits.count + b.exponent
        if leadA != leadB { return leadA < leadB ? -1 : 1 }
        for (x, y) in zip(a.digits, b.digits) where x != y {
            return x < y ? -1 : 1
        }
        if a.digits.count == b.digits.count { return 0 }
        return a.digits.count < b.digits.count ? -1 : 1
    }

    /// Is `value` an integer multiple of `divisor`? Exact for divisors of up to 18 significant
    /// digits; beyond that falls back to floating point (schemas do not use such divisors).
    static func isMultiple(_ value: DecimalParts, of divisor: DecimalParts) -> Bool {
        if value.isZero { return true }
        if divisor.isZero { return false }
        // value / divisor = (dv / dd) × 10^k. With normalised digits (no trailing zeros), a
        // negative k can only give an integer if dv had a factor of ten, which it has not.
        let k = value.exponent - divisor.exponent
        if k < 0 { return false }
        guard divisor.digits.count <= 18 else {
            return floatingFallback(value, divisor)
        }
        var modulus: UInt64 = 0
        for digit in divisor.digits { modulus = modulus * 10 + UInt64(digit) }
        if modulus == 1 { return true }
        var remainder: UInt64 = 0
        for digit in value.digits {
            remainder = UInt64((UInt128(remainder) * 10 + UInt128(digit)) % UInt128(modulus))
        }
        // remainder × 10^k mod modulus, by square-and-multiply (k may be large).
        var power: UInt64 = 1
        var base: UInt64 = 10 % modulus
        var e = k
        while e > 0 {
            if e & 1 == 1 { power = UInt64(UInt128(power) * UInt128(base) % UInt128(modulus)) }
            base = UInt64(UInt128(base) * UInt128(base) % UInt128(modulus))
            e >>= 1
        }
        return UInt128(remainder) * UInt128(power) % UInt128(modulus) == 0
    }

    private static func floatingFallback(_ value: DecimalParts, _ divisor: DecimalParts) -> Bool {
        let quotient = value.approximateDouble / divisor.approximateDouble
        return quotient.isFinite && quotient == quotient.rounded(.towardZero)
    }

    private var approximateDouble: Double {
        var text = negative ? "-" : ""
        for digit in digits { text.append(Character(Unicode.Scalar(digit + 48))) }
        text += "e\(exponent)"
        return Double(text) ?? 0
    }
}
