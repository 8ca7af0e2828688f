/// A JSON number that keeps the text it was written as.
///
/// Equality, hashing and ordering are by exact mathematical value, computed on the decimal
/// literal rather than through `Double`, so `1 == 1.0 == 1e0` and large integers keep their
/// precision.
public struct JSONNumber: Sendable, CustomStringConvertible {
    enum Storage: Sendable {
        /// The literal is exactly `String(value)`; the common case, kept small and fast.
        case integer(Int)
        /// Any other literal, with its nearest `Double` and whether it is mathematically integral.
        case decimal(literal: String, double: Double, isInteger: Bool)
    }

    let storage: Storage

    public init(_ value: Int) {
        storage = .integer(value)
    }

    /// nil for NaN and ±infinity. Integral values within ±2^53 become integers ("3"); others use
    /// Swift's shortest round-trip spelling ("0.1", "1e+20").
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        if value == value.rounded(.towardZero), abs(value) <= 9_007_199_254_740_992 {
            storage = .integer(Int(value))
        } else {
            let literal = value.description
            let parts = DecimalParts(literal: literal)
            storage = .decimal(literal: literal, double: value, isInteger: parts.isInteger)
        }
    }

    /// nil unless `literal` matches the JSON number grammar and is within `Double`'s range.
    public init?(literal: String) {
        var literal = literal
        let parsed: JSONNumber? = literal.withUTF8 { buffer in
            guard let shape = NumberGrammar.scan(buffer, from: 0), shape.end == buffer.count else { return nil }
            return JSONNumber(validatedLiteral: buffer, shape: shape)
        }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Builds a number from bytes already checked against the grammar. nil when out of range.
    init?(validatedLiteral bytes: UnsafeBufferPointer<UInt8>, shape: NumberGrammar.Shape) {
        if shape.isPlainInteger, let value = NumberGrammar.smallInteger(bytes) {
            storage = .integer(value)
            return
        }
        let literal = String(decoding: bytes, as: UTF8.self)
        guard let double = Double(literal), double.isFinite else { return nil }
        let parts = DecimalParts(literal: literal)
        storage = .decimal(literal: literal, double: double, isInteger: parts.isInteger)
    }

    /// The text as written in the source (or the canonical spelling for `init(Int)`/`init(Double)`).
    public var literal: String {
        switch storage {
        case .integer(let value): return String(value)
        case .decimal(let literal, _, _): return literal
        }
    }

    /// The nearest `Double`.
    public var doubleValue: Double {
        switch storage {
        case .integer(let value): return Double(value)
        case .decimal(_, let double, _): return double
        }
    }

    /// Mathematically integral: `1.0` and `1e2` are integers.
    public var isInteger: Bool {
        switch storage {
        case .integer: return true
        case .decimal(_, _, let isInteger): return isInteger
        }
    }

    /// The exact value when integral and within `Int`.
    public var intValue: Int? {
        switch storage {
        case .integer(let value): return value
        case .decimal(let literal, _, let isInteger):
            guard isInteger else { return nil }
            return DecimalParts(literal: literal).exactInt
        }
    }

    public var description: String { literal }

    var decimalParts: DecimalParts {
        switch storage {
        case .integer(let value): return DecimalParts(integer: value)
        case .decimal(let literal, _, _): return DecimalParts(literal: literal)
        }
    }
}

extension JSONNumber: Hashable, Comparable {
    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        compare(lhs, rhs) == 0
    }

    public static func < (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        compare(lhs, rhs) < 0
    }

    /// -1, 0 or 1 by exact value.
    static func compare(_ lhs: JSONNumber, _ rhs: JSONNumber) -> Int {
        if case .integer(let a) = lhs.storage, case .integer(let b) = rhs.storage {
            return a < b ? -1 : (a == b ? 0 : 1)
        }
        // Rounding to Double is monotonic, so differing doubles settle the order; only equal
        // doubles need the exact decimal comparison.
        let a = lhs.doubleValue
        let b = rhs.doubleValue
        if a < b { return -1 }
        if a > b { return 1 }
        return DecimalParts.compare(lhs.decimalParts, rhs.decimalParts)
    }

    public func hash(into hasher: inout Hasher) {
        switch storage {
        case .integer(let value):
            hasher.combine(value)
        case .decimal(let literal, _, let isInteger):
            let parts = DecimalParts(literal: literal)
            if isInteger, let value = parts.exactInt {
                hasher.combine(value)  // consistent with .integer for equal values
            } else {
                parts.hash(into: &hasher)
            }
        }
    }

    /// True when `self` is an exact integer multiple of `divisor` (decimal arithmetic, no rounding).
    public func isMultiple(of divisor: JSONNumber) -> Bool {
        if case .integer(let a) = storage, case .integer(let b) = divisor.storage, b != 0 {
            if b == -1 { return true }
            return a % b == 0
        }
        return DecimalParts.isMultiple(decimalParts, of: divisor.decimalParts)
    }
}
