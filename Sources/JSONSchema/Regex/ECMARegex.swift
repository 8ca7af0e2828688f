/// An ECMA-262 regular expression (Unicode mode, no flags) compiled once, matched with a step
/// budget. `pattern` in JSON Schema is unanchored: a match anywhere in the string counts.
/// A class, so that schema nodes share one compiled program cheaply.
final class ECMARegex: Sendable {
    enum Outcome: Sendable {
        case matched
        case notMatched
        /// The step budget ran out: the pattern backtracks too much on this input.
        case tooExpensive
    }

    let source: String
    private let program: RegexProgram

    init(_ source: String) throws(RegexSyntaxError) {
        self.source = source
        var parser = RegexParser(source)
        let node = try parser.parse()
        program = try RegexCompiler.compile(node, captureCount: parser.captureCount)
    }

    func search(in text: String, budget: Int) -> Outcome {
        var text = text
        return text.withUTF8 { bytes -> Outcome in
            var isASCII = true
            for byte in bytes where byte >= 0x80 {
                isASCII = false
                break
            }
            if isASCII {
                var matcher = RegexMatcher(program: program, input: ASCIIRegexInput(bytes: bytes), budget: budget)
                return Self.convert(matcher.search())
            }
            let scalars = String(decoding: bytes, as: UTF8.self).unicodeScalars.map(\.value)
            var matcher = RegexMatcher(program: program, input: ScalarRegexInput(scalars: scalars), budget: budget)
            return Self.convert(matcher.search())
        }
    }

    private static func convert<Input>(_ outcome: RegexMatcher<Input>.Outcome) -> Outcome {
        switch outcome {
        case .matched: return .matched
        case .notMatched: return .notMatched
        case .tooExpensive: return .tooExpensive
        }
    }

    /// Convenience for tests and format checks with a generous budget.
    func matches(_ text: String, budget: Int = 100_000) -> Bool {
        if case .matched = search(in: text, budget: budget) { return true }
        return false
    }
}
