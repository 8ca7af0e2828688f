import Testing

@testable import JSONSchema

@Suite("ECMA-262 regular expressions")
struct RegexTests {
    private func matches(_ pattern: String, _ text: String) throws -> Bool {
        try ECMARegex(pattern).matches(text)
    }

    @Test(arguments: [
        // Unanchored search.
        ("a+", "xxaaxx", true), ("^a", "ba", false), ("a$", "ab", false), ("^$", "", true),
        // Classes, ranges, negation, escapes.
        ("^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$", "B801200005001", true),
        ("^[^0-9]+$", "abc", true), ("^[^0-9]+$", "ab1", false), ("^[a\\-z]+$", "-a-z", true),
        ("^\\d{3}$", "123", true), ("^\\d$", "٣", false), ("^\\w+$", "héllo", false), ("^\\W$", "é", true),
        ("^\\s+$", " \t\u{00A0}\u{2003}\u{FEFF}", true), ("^\\S$", " ", false),
        ("^[\\d\\s]+$", "1 2", true), ("^\\u0041\\x42\\u{43}$", "ABC", true), ("^\\uD83D\\uDE00$", "😀", true),
        ("^[\\b]$", "\u{8}", true), ("^\\cJ$", "\n", true), ("^\\0$", "\u{0}", true),
        ("^\\/\\.\\*$", "/.*", true),
        // Dot: any scalar except line terminators; astral characters are one scalar.
        ("^.$", "😀", true), ("^.$", "\n", false), ("^.$", "\u{2028}", false), ("^..$", "é", false),
        // Quantifiers.
        ("^a{2}$", "aa", true), ("^a{2}$", "aaa", false), ("^a{2,}$", "aaaa", true), ("^a{2,3}$", "aaaa", false),
        ("^a{,2}$", "a{,2}", true), ("^x{1}y?$", "x", true), ("^(ab)*$", "ababab", true), ("^(ab)+$", "", false),
        ("^a*?b", "aab", true), ("^(a|ab)(c|bcd)(d*)$", "abcd", true),
        // Groups, alternation, backreferences.
        ("^(?:ab|cd)+$", "abcdab", true), ("^(a)\\1$", "aa", true), ("^(a)\\1$", "ab", false),
        ("^(?<q>[\"'])x\\k<q>$", "'x'", true), ("^(?<q>[\"'])x\\k<q>$", "'x\"", false),
        // Assertions.
        ("\\bcat\\b", "a cat here", true), ("\\bcat\\b", "concatenate", false), ("\\Bcat\\B", "concatenate", true),
        ("^(?=.*\\d)(?=.*[a-z]).{6,}$", "abc123", true), ("^(?=.*\\d)(?=.*[a-z]).{6,}$", "abcdef", false),
        ("^(?!test)\\w+$", "testing", false), ("^(?!test)\\w+$", "tasting", true),
        ("(?<=\\$)\\d+", "cost $42", true), ("(?<=\\$)\\d+", "cost 42", false), ("(?<!\\$)\\b\\d+", "$42", false),
        // Empty loops must not spin.
        ("^(a*)*$", "aaa", true), ("^(a*)*b$", "aaac", false), ("^(?:)*$", "", true),
        // Unicode properties.
        ("^\\p{Letter}+$", "Héllo", true), ("^\\p{L}+$", "π", true), ("^\\p{L}+$", "123", false),
        ("^\\P{L}+$", "123", true), ("^\\p{Lu}\\p{Ll}+$", "Émile", true), ("^\\p{Nd}+$", "٣4", true),
        ("^\\p{gc=Lu}$", "A", true),
    ])
    func ecmaSemantics(pattern: String, text: String, expected: Bool) throws {
        #expect(try matches(pattern, text) == expected, "/\(pattern)/ on \(text.debugDescription)")
    }

    @Test(arguments: [
        "(", ")", "[a", "a**", "*a", "a{2,1}", "\\", "[z-a]", "(?<n>a)(?<n>b)", "\\k<missing>", "(?<=a)+", "\\p{Nope}",
        "\\p{Script=Greek}", "\\2(a)", "\\a", "[\\d-z]",
    ])
    func invalidPatternsAreRejected(pattern: String) {
        #expect(throws: RegexSyntaxError.self, "\(pattern)") { try ECMARegex(pattern) }
    }

    @Test func catastrophicPatternStopsWithinItsBudget() throws {
        let regex = try ECMARegex("^(a+)+$")
        let text = String(repeating: "a", count: 40) + "!"
        let clock = ContinuousClock()
        var outcome: ECMARegex.Outcome = .matched
        let elapsed = clock.measure { outcome = regex.search(in: text, budget: 100_000) }
        guard case .tooExpensive = outcome else {
            Issue.record("expected tooExpensive, got \(outcome)")
            return
        }
        #expect(elapsed < .seconds(1))
    }

    @Test func catastrophicPatternInASchemaIsAClearError() throws {
        var options = SchemaOptions()
        options.maxRegexSteps = 10_000
        let schema = try Schema(["properties": ["ref": ["pattern": "^(a|aa)+$"]]], options: options)
        let instance: JSONValue = ["ref": .string(String(repeating: "a", count: 60) + "b")]
        let clock = ContinuousClock()
        var result = ValidationResult(errors: [])
        let elapsed = clock.measure { result = schema.validate(instance) }
        #expect(elapsed < .seconds(2))
        #expect(result.errors.map(\.message) == ["ref: the pattern ^(a|aa)+$ is too expensive to evaluate on this value"])
        #expect(!schema.isValid(instance))
    }

    @Test func longInputsDoNotRecurse() throws {
        // A greedy loop over 200,000 characters uses the explicit stack, not the call stack.
        let regex = try ECMARegex("^(?:a|b)*c$")
        let text = String(repeating: "ab", count: 100_000) + "c"
        #expect(regex.search(in: text, budget: 10_000_000) == .matched)
    }

    @Test func invalidPatternIsASchemaError() {
        #expect(throws: SchemaError.self) { try Schema(["pattern": "([a-z]"]) }
        #expect(throws: SchemaError.self) { try Schema(["patternProperties": ["[": true]]) }
    }
}
