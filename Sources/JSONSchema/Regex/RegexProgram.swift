/// A compiled pattern: instructions for the backtracking machine in `RegexMatcher`.
struct RegexProgram: Sendable {
    enum Instruction: Sendable {
        case scalar(UInt32)
        case dot
        case set(Int)
        /// Try `preferred` first; on failure resume at `alternative`.
        case split(preferred: Int, alternative: Int)
        case jump(Int)
        /// Store the position in a register (captures and loop marks); undone on backtracking.
        case save(register: Int)
        /// Fail when the position equals the register: an empty loop iteration (ECMA-262 rule).
        case requireProgress(register: Int)
        case inputStart
        case inputEnd
        case wordBoundary(negated: Bool)
        case backreference(group: Int)
        case lookaround(program: Int, ahead: Bool, negated: Bool)
        case match
    }

    var instructions: [Instruction] = []
    var sets: [RegexCharacterSet] = []
    /// Bodies of lookarounds, each ending in `match`.
    var subprograms: [[Instruction]] = []
    var registerCount = 0
    var captureCount = 0
    /// Whether every match must start at position 0 (the pattern begins with `^`).
    var anchoredAtStart = false

    static let maxInstructions = 20_000
}
