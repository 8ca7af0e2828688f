import Testing
@testable import ReferralRouter

@Suite("BodyExcerpt.sanitise")
struct BodyExcerptTests {
    private func sanitise(_ text: String, limit: Int = 200) -> String {
        BodyExcerpt.sanitise(Array(text.utf8), limit: limit)
    }

    /// The longest run of ASCII digits in `text`.
    private func longestDigitRun(_ text: String) -> Int {
        var longest = 0
        var current = 0
        for character in text {
            current = ("0"..."9").contains(character) ? current + 1 : 0
            longest = max(longest, current)
        }
        return longest
    }

    @Test func digitRunsOfSixOrMoreAreMasked() {
        #expect(sanitise("NHS number 9434765919 rejected") == "NHS number ########## rejected")
        #expect(sanitise("ref 123456") == "ref ######")
        #expect(sanitise("{\"dob\":\"20150304\"}") == "{\"dob\":\"########\"}")
    }

    @Test func shortNumbersAreKept() {
        #expect(sanitise("HTTP 422 at line 17, code 12345") == "HTTP 422 at line 17, code 12345")
    }

    @Test func emailLikeWordsAreRedacted() {
        #expect(sanitise("contact jane.doe@example.org for details") == "contact [redacted] for details")
        #expect(sanitise("reply-to:<x@y.z>, ok") == "[redacted] ok")
    }

    @Test func controlCharactersAreRemovedAndLineBreaksBecomeSpaces() {
        #expect(sanitise("bad\u{1B}[31m request\u{0}\u{7}") == "bad[31m request")
        #expect(sanitise("line one\nline two\r\n\tend") == "line one line two end")
    }

    @Test func theExcerptIsCutAtTheLimit() {
        let long = String(repeating: "abcdefghij ", count: 100)
        let excerpt = sanitise(long, limit: 50)
        #expect(excerpt.count == 51)
        #expect(excerpt.hasSuffix("…"))
        #expect(excerpt.hasPrefix("abcdefghij abcdefghij"))
        #expect(sanitise("short", limit: 50) == "short")
        #expect(sanitise(long).count == 201)
    }

    @Test func anEmptyBodyIsAnEmptyExcerpt() {
        #expect(sanitise("") == "")
    }

    /// A separator that is dropped (a control character, or a non-ASCII space such as U+00A0 from a
    /// formatted NHS number "943 476 5919") must not glue short runs into an unmasked long one.
    @Test(arguments: ["943\u{0}476\u{7}5919", "943\u{A0}476\u{A0}5919", "943\u{2013}476\u{2013}5919"])
    func noLongDigitRunSurvivesWhenSeparatorsAreDropped(separated: String) {
        let excerpt = sanitise("patient \(separated) unknown")
        #expect(longestDigitRun(excerpt) < 6, "excerpt: \(excerpt)")
        #expect(!excerpt.contains("9434765919"))
    }

    @Test func noOutputEverHasALongDigitRunOrAnAtSignOrAControlCharacter() {
        var random = SplitMix64(seed: 2025)
        let alphabet: [UInt8] = Array("0123456789 @.\n\t\u{0}\u{7}ab".utf8) + [0xC2, 0xA0, 0xE2, 0x80, 0x93]
        var longRuns: [String] = []
        var other: [String] = []
        for _ in 0..<500 {
            let body = (0..<Int.random(in: 0...120, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            let excerpt = BodyExcerpt.sanitise(body, limit: 60)
            if longestDigitRun(excerpt) >= 6 { longRuns.append(excerpt) }
            if excerpt.contains("@") || excerpt.count > 61
                || !excerpt.unicodeScalars.allSatisfy({ ($0.value >= 0x20 && $0.value < 0x7F) || $0 == "…" }) {
                other.append(excerpt)
            }
        }
        #expect(longRuns.isEmpty, "\(longRuns.count) of 500 excerpts keep a run of 6+ digits, e.g. \(longRuns.first ?? "")")
        #expect(other.isEmpty, "\(other.count) excerpts with '@', control characters or over the limit, e.g. \(other.first ?? "")")
    }
}
