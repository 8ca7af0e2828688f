/// Parses ECMA-262 pattern syntax (Unicode mode, no flags) into a `RegexNode`.
///
/// Leniencies, for patterns written against other engines: a `{` that does not start a valid
/// quantifier is a literal, and any ASCII punctuation may be escaped.
struct RegexParser {
    private let scalars: [UInt32]
    private var position = 0
    private(set) var captureCount = 0
    private var captureNames: [String: Int] = [:]
    /// Named backreferences seen before their group; resolved at the end.
    private var pendingNames: [String] = []
    private var nesting = 0
    private static let maxNesting = 200

    init(_ pattern: String) {
        scalars = pattern.unicodeScalars.map(\.value)
    }

    mutating func parse() throws(RegexSyntaxError) -> RegexNode {
        let node = try parseDisjunction()
        if position < scalars.count {
            throw RegexSyntaxError(description: scalars[position] == 0x29 ? "unmatched ')'" : "unexpected character")
        }
        for name in pendingNames where captureNames[name] == nil {
            throw RegexSyntaxError(description: "\\k<\(name)> refers to no group of that name")
        }
        return pendingNames.isEmpty ? node : resolveForwardReferences(node)
    }

    /// Replaces the placeholders of named references that preceded their group.
    private func resolveForwardReferences(_ node: RegexNode) -> RegexNode {
        switch node {
        case .backreference(let number) where number < 0:
            return .backreference(captureNames[pendingNames[-number - 1]] ?? 0)
        case .sequence(let nodes): return .sequence(nodes.map(resolveForwardReferences))
        case .alternation(let nodes): return .alternation(nodes.map(resolveForwardReferences))
        case .group(let inner, let capture): return .group(resolveForwardReferences(inner), capture: capture)
        case .repetition(let inner, let minimum, let maximum, let greedy):
            return .repetition(resolveForwardReferences(inner), min: minimum, max: maximum, greedy: greedy)
        case .lookaround(let inner, let ahead, let negated):
            return .lookaround(resolveForwardReferences(inner), ahead: ahead, negated: negated)
        case .empty, .scalar, .dot, .set, .inputStart, .inputEnd, .wordBoundary, .backreference:
            return node
        }
    }

    private var atEnd: Bool { position >= scalars.count }

    private func peek(_ offset: Int = 0) -> UInt32? {
        position + offset < scalars.count ? scalars[position + offset] : nil
    }

    private mutating func consume(_ scalar: Character) -> Bool {
        guard let value = peek(), let ascii = scalar.asciiValue, value == UInt32(ascii) else { return false }
        position += 1
        return true
    }

    // MARK: - Structure

    private mutating func parseDisjunction() throws(RegexSyntaxError) -> RegexNode {
        nesting += 1
        defer { nesting -= 1 }
        if nesting > Self.maxNesting { throw RegexSyntaxError(description: "the pattern is nested too deeply") }
        var alternatives = [try parseAlternative()]
        while consume("|") {
            alternatives.append(try parseAlternative())
        }
        return alternatives.count == 1 ? alternatives[0] : .alternation(alternatives)
    }

    private mutating func parseAlternative() throws(RegexSyntaxError) -> RegexNode {
        var terms: [RegexNode] = []
        while let next = peek(), next != 0x7C, next != 0x29 {  // '|' ')'
            terms.append(try parseTerm())
        }
        switch terms.count {
        case 0: return .empty
        case 1: return terms[0]
        default: return .sequence(terms)
        }
    }

    private mutating func parseTerm() throws(RegexSyntaxError) -> RegexNode {
        guard let next = peek() else { throw RegexSyntaxError(description: "unexpected end of pattern") }
        var atom: RegexNode
        var quantifiable = true
        switch next {
        case 0x5E:  // ^
            position += 1
            return .inputStart
        case 0x24:  // $
            position += 1
            return .inputEnd
        case 0x5C where peek(1) == 0x62 || peek(1) == 0x42:  // \b \B
            position += 2
            return .wordBoundary(negated: scalars[position - 1] == 0x42)
        case 0x28:  // (
            if peek(1) == 0x3F {  // ?
                switch peek(2) {
                case 0x3D, 0x21:  // ?= ?!
                    let negated = peek(2) == 0x21
                    position += 3
                    let inner = try parseDisjunction()
                    try expectClose()
                    atom = .lookaround(inner, ahead: true, negated: negated)
                case 0x3C where peek(3) == 0x3D || peek(3) == 0x21:  // ?<= ?<!
                    let negated = peek(3) == 0x21
                    position += 4
                    let inner = try parseDisjunction()
                    try expectClose()
                    atom = .lookaround(inner, ahead: false, negated: negated)
                    quantifiable = false
                case 0x3A:  // ?:
                    position += 3
                    let inner = try parseDisjunction()
                    try expectClose()
                    atom = .group(inner, capture: nil)
                case 0x3C:  // ?<name>
                    position += 3
                    let name = try parseGroupName()
                    if captureNames[name] != nil {
                        throw RegexSyntaxError(description: "duplicate group name \(name)")
                    }
                    captureCount += 1
                    let number = captureCount
                    captureNames[name] = number
                    let inner = try parseDisjunction()
                    try expectClose()
                    atom = .group(inner, capture: number)
                default:
                    throw RegexSyntaxError(description: "invalid group")
                }
            } else {
                position += 1
                captureCount += 1
                let number = captureCount
                let inner = try parseDisjunction()
                try expectClose()
                atom = .group(inner, capture: number)
            }
        case 0x2E:  // .
            position += 1
            atom = .dot
        case 0x5B:  // [
            atom = .set(try parseClass())
        case 0x5C:  // \
            atom = try parseAtomEscape()
        case 0x2A, 0x2B, 0x3F:  // * + ?
            throw RegexSyntaxError(description: "nothing to repeat")
        case 0x7B:  // {
            if quantifierAhead() { throw RegexSyntaxError(description: "nothing to repeat") }
            position += 1
            atom = .scalar(next)
        case 0x29:
            throw RegexSyntaxError(description: "unmatched ')'")
        default:
            position += 1
            atom = .scalar(next)
        }
        return try parseQuantifier(atom, quantifiable: quantifiable)
    }

    private mutating func expectClose() throws(RegexSyntaxError) {
        guard consume(")") else { throw RegexSyntaxError(description: "missing ')'") }
    }

    private mutating func parseGroupName() throws(RegexSyntaxError) -> String {
        var name = ""
        while let next = peek(), next != 0x3E {
            guard let scalar = Unicode.Scalar(next),
                scalar.properties.isIDContinue || scalar == "$" || (name.isEmpty && scalar.properties.isIDStart)
            else {
                throw RegexSyntaxError(description: "invalid group name")
            }
            name.unicodeScalars.append(scalar)
            position += 1
        }
        guard consume(">"), !name.isEmpty else { throw RegexSyntaxError(description: "invalid group name") }
        return name
    }

    /// Whether a `{n}`, `{n,}` or `{n,m}` quantifier starts at the current position.
    private func quantifierAhead() -> Bool {
        var i = position
        guard i < scalars.count, scalars[i] == 0x7B else { return false }
        i += 1
        var digits = 0
        while i < scalars.count, scalars[i] >= 0x30, scalars[i] <= 0x39 {
            i += 1
            digits += 1
        }
        guard digits > 0, i < scalars.count else { return false }
        if scalars[i] == 0x7D { return true }
        guard scalars[i] == 0x2C else { return false }
        i += 1
        while i < scalars.count, scalars[i] >= 0x30, scalars[i] <= 0x39 { i += 1 }
        return i < scalars.count && scalars[i] == 0x7D
    }

    private mutating func parseQuantifier(_ atom: RegexNode, quantifiable: Bool) throws(RegexSyntaxError) -> RegexNode {
        guard let next = peek() else { return atom }
        var minimum: Int
        var maximum: Int?
        switch next {
        case 0x2A:
            position += 1
            minimum = 0
            maximum = nil
        case 0x2B:
            position += 1
            minimum = 1
            maximum = nil
        case 0x3F:
            position += 1
            minimum = 0
            maximum = 1
        case 0x7B where quantifierAhead():
            position += 1
            minimum = parseBoundedInteger()
            if consume(",") {
                maximum = peek() == 0x7D ? nil : parseBoundedInteger()
            } else {
                maximum = minimum
            }
            _ = consume("}")
            if let maximum, maximum < minimum {
                throw RegexSyntaxError(description: "numbers out of order in {} quantifier")
            }
        default:
            return atom
        }
        guard quantifiable else { throw RegexSyntaxError(description: "a lookbehind cannot be repeated") }
        let greedy = !consume("?")
        if let next = peek(), next == 0x2A || next == 0x2B || next == 0x3F || (next == 0x7B && quantifierAhead()) {
            throw RegexSyntaxError(description: "nothing to repeat")
        }
        return .repetition(atom, min: minimum, max: maximum, greedy: greedy)
    }

    /// Digits, saturating at a large bound (the compiler rejects huge counts anyway).
    private mutating func parseBoundedInteger() -> Int {
        var value = 0
        while let next = peek(), next >= 0x30, next <= 0x39 {
            value = min(value * 10 + Int(next - 0x30), 1_000_000)
            position += 1
        }
        return value
    }

    // MARK: - Escapes

    private mutating func parseAtomEscape() throws(RegexSyntaxError) -> RegexNode {
        position += 1  // backslash
        guard let next = peek() else { throw RegexSyntaxError(description: "\\ at end of pattern") }
        switch next {
        case 0x31...0x39:  // backreference
            var number = 0
            while let digit = peek(), digit >= 0x30, digit <= 0x39 {
                number = min(number * 10 + Int(digit - 0x30), 100_000)
                position += 1
            }
            return .backreference(number)  // checked against the group count by the compiler
        case 0x6B:  // \k<name>
            position += 1
            guard consume("<") else { throw RegexSyntaxError(description: "invalid named reference") }
            let name = try parseGroupName()
            if let number = captureNames[name] { return .backreference(number) }
            pendingNames.append(name)
            return .backreference(-(pendingNames.count))  // placeholder, resolved at the end of parse()
        default:
            if let set = try parseClassEscape() { return .set(set) }
            return .scalar(try parseCharacterEscape(inClass: false))
        }
    }

    /// \d \D \s \S \w \W \p{…} \P{…} at the current position (after the backslash), or nil.
    private mutating func parseClassEscape() throws(RegexSyntaxError) -> RegexCharacterSet? {
        guard let next = peek() else { return nil }
        var set = RegexCharacterSet()
        switch next {
        case 0x64: set.predicates = [.digit]
        case 0x44: set.predicates = [.not(.digit)]
        case 0x73: set.predicates = [.space]
        case 0x53: set.predicates = [.not(.space)]
        case 0x77: set.predicates = [.word]
        case 0x57: set.predicates = [.not(.word)]
        case 0x70, 0x50:
            position += 1
            guard consume("{") else { throw RegexSyntaxError(description: "\\p needs {Property}") }
            var name = ""
            while let scalar = peek(), scalar != 0x7D {
                guard let value = Unicode.Scalar(scalar) else { break }
                name.unicodeScalars.append(value)
                position += 1
            }
            guard consume("}") else { throw RegexSyntaxError(description: "unterminated \\p{") }
            let predicate = try UnicodePropertyNames.predicate(for: name)
            set.predicates = [next == 0x50 ? .not(predicate) : predicate]
            return set
        default:
            return nil
        }
        position += 1
        return set
    }

    /// A single-scalar escape (after the backslash).
    private mutating func parseCharacterEscape(inClass: Bool) throws(RegexSyntaxError) -> UInt32 {
        guard let next = peek() else { throw RegexSyntaxError(description: "\\ at end of pattern") }
        position += 1
        switch next {
        case 0x74: return 0x09  // t
        case 0x6E: return 0x0A  // n
        case 0x76: return 0x0B  // v
        case 0x66: return 0x0C  // f
        case 0x72: return 0x0D  // r
        case 0x62 where inClass: return 0x08  // [\b] is backspace
        case 0x2D where inClass: return 0x2D  // [\-]
        case 0x30:  // \0 not followed by a digit
            if let digit = peek(), digit >= 0x30, digit <= 0x39 {
                throw RegexSyntaxError(description: "octal escapes are not allowed")
            }
            return 0
        case 0x63:  // \cX
            guard let letter = peek(), (0x41...0x5A).contains(letter) || (0x61...0x7A).contains(letter) else {
                throw RegexSyntaxError(description: "\\c must be followed by a letter")
            }
            position += 1
            return letter % 32
        case 0x78:  // \xHH
            guard let value = parseHex(count: 2) else { throw RegexSyntaxError(description: "invalid \\x escape") }
            return value
        case 0x75:  // \uHHHH, \u{H…}
            if consume("{") {
                var value: UInt32 = 0
                var digits = 0
                while let scalar = peek(), let digit = Self.hexDigit(scalar) {
                    value = value * 16 + digit
                    digits += 1
                    position += 1
                    if value > 0x10FFFF { throw RegexSyntaxError(description: "\\u{} escape out of range") }
                }
                guard digits > 0, consume("}") else { throw RegexSyntaxError(description: "invalid \\u{} escape") }
                return value
            }
            guard let value = parseHex(count: 4) else { throw RegexSyntaxError(description: "invalid \\u escape") }
            if (0xD800...0xDBFF).contains(value), peek() == 0x5C, peek(1) == 0x75 {
                let saved = position
                position += 2
                if let low = parseHex(count: 4), (0xDC00...0xDFFF).contains(low) {
                    return 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                }
                position = saved
            }
            return value
        default:
            // Identity escapes: syntax characters and other ASCII punctuation (not letters/digits).
            if next < 0x80, let scalar = Unicode.Scalar(next), !scalar.properties.isAlphabetic,
                !(0x30...0x39).contains(next), next >= 0x20
            {
                return next
            }
            if next >= 0x80 { throw RegexSyntaxError(description: "invalid escape") }
            throw RegexSyntaxError(description: "invalid escape \\\(Character(Unicode.Scalar(UInt8(next))))")
        }
    }

    private mutating func parseHex(count: Int) -> UInt32? {
        var value: UInt32 = 0
        for offset in 0..<count {
            guard let scalar = peek(offset), let digit = Self.hexDigit(scalar) else { return nil }
            value = value * 16 + digit
        }
        position += count
        return value
    }

    private static func hexDigit(_ scalar: UInt32) -> UInt32? {
        switch scalar {
        case 0x30...0x39: return scalar - 0x30
        case 0x41...0x46: return scalar - 0x41 + 10
        case 0x61...0x66: return scalar - 0x61 + 10
        default: return nil
        }
    }

    // MARK: - Classes

    private mutating func parseClass() throws(RegexSyntaxError) -> RegexCharacterSet {
        position += 1  // [
        var set = RegexCharacterSet()
        if consume("^") { set.negated = true }
        while true {
            guard let next = peek() else { throw RegexSyntaxError(description: "missing ']'") }
            if next == 0x5D {
                position += 1
                return set
            }
            let first = try parseClassAtom()
            if peek() == 0x2D, let after = peek(1), after != 0x5D {
                position += 1  // -
                let second = try parseClassAtom()
                guard case .scalar(let low) = first, case .scalar(let high) = second else {
                    throw RegexSyntaxError(description: "a class escape cannot be a range endpoint")
                }
                guard low <= high else { throw RegexSyntaxError(description: "range out of order in character class") }
                set.ranges.append(low...high)
            } else {
                switch first {
                case .scalar(let value): set.ranges.append(value...value)
                case .set(let inner): set.predicates.append(contentsOf: inner.predicates)
                }
            }
        }
    }

    private enum ClassAtom {
        case scalar(UInt32)
        case set(RegexCharacterSet)
    }

    private mutating func parseClassAtom() throws(RegexSyntaxError) -> ClassAtom {
        guard let next = peek() else { throw RegexSyntaxError(description: "missing ']'") }
        if next == 0x5C {
            position += 1
            if let set = try parseClassEscape() { return .set(set) }
            return .scalar(try parseCharacterEscape(inClass: true))
        }
        position += 1
        return .scalar(next)
    }
}
