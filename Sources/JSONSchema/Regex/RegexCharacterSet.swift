/// A set of Unicode scalars: ranges plus class escapes (\d \w \s, \p{...}), possibly negated.
struct RegexCharacterSet: Sendable {
    enum Predicate: Sendable {
        case digit, word, space
        case generalCategories([Unicode.GeneralCategory])
        case binaryProperty(BinaryProperty)
        case any
        indirect case not(Predicate)
    }

    enum BinaryProperty: Sendable {
        case alphabetic, whiteSpace, uppercase, lowercase, ascii, assigned, emoji, hexDigit, asciiHexDigit
        case ideographic, math, noncharacter, dash
    }

    var ranges: [ClosedRange<UInt32>] = []
    var predicates: [Predicate] = []
    var negated = false

    func contains(_ scalar: UInt32) -> Bool {
        containsIgnoringNegation(scalar) != negated
    }

    private func containsIgnoringNegation(_ scalar: UInt32) -> Bool {
        for range in ranges where range.contains(scalar) { return true }
        for predicate in predicates where Self.matches(predicate, scalar) { return true }
        return false
    }

    static func matches(_ predicate: Predicate, _ value: UInt32) -> Bool {
        switch predicate {
        case .digit:
            return value >= 0x30 && value <= 0x39
        case .word:
            return (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A)
                || value == 0x5F
        case .space:
            return isECMAWhitespace(value)
        case .any:
            return true
        case .not(let inner):
            return !matches(inner, value)
        case .generalCategories(let categories):
            guard let scalar = Unicode.Scalar(value) else { return categories.contains(.surrogate) }
            return categories.contains(scalar.properties.generalCategory)
        case .binaryProperty(let property):
            guard let scalar = Unicode.Scalar(value) else { return false }
            let properties = scalar.properties
            switch property {
            case .alphabetic: return properties.isAlphabetic
            case .whiteSpace: return properties.isWhitespace
            case .uppercase: return properties.isUppercase
            case .lowercase: return properties.isLowercase
            case .ascii: return value < 0x80
            case .assigned: return properties.generalCategory != .unassigned
            case .emoji: return properties.isEmoji
            case .hexDigit: return properties.isHexDigit
            case .asciiHexDigit: return properties.isASCIIHexDigit
            case .ideographic: return properties.isIdeographic
            case .math: return properties.isMath
            case .noncharacter: return properties.isNoncharacterCodePoint
            case .dash: return properties.isDash
            }
        }
    }

    /// ECMA-262 WhiteSpace and LineTerminator.
    static func isECMAWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
            return true
        default:
            return false
        }
    }

    static func isLineTerminator(_ value: UInt32) -> Bool {
        value == 0x0A || value == 0x0D || value == 0x2028 || value == 0x2029
    }

    static func isWordCharacter(_ value: UInt32) -> Bool {
        matches(.word, value)
    }
}
