/// A backtracking matcher with an explicit stack (never recursion over the input) and a step
/// budget, so catastrophic patterns end with `.tooExpensive` instead of hanging.
struct RegexMatcher<Input: RegexInput>: ~Copyable {
    enum Outcome {
        case matched
        case notMatched
        case tooExpensive
    }

    private let program: RegexProgram
    private let input: Input
    private let budget: Int
    private var steps = 0
    private var registers: [Int]

    private enum Frame {
        case branch(pc: Int, position: Int)
        case restore(register: Int, value: Int)
    }

    private var stack: [Frame] = []

    init(program: RegexProgram, input: Input, budget: Int) {
        self.program = program
        self.input = input
        self.budget = budget
        registers = Array(repeating: -1, count: program.registerCount)
    }

    /// Unanchored search: is there a match starting anywhere?
    mutating func search() -> Outcome {
        let lastStart = program.anchoredAtStart ? 0 : input.count
        var start = 0
        while start <= lastStart {
            for index in registers.indices { registers[index] = -1 }
            switch run(program.instructions, at: start, requiredEnd: nil) {
            case .matched: return .matched
            case .tooExpensive: return .tooExpensive
            case .notMatched: start += 1
            }
        }
        return .notMatched
    }

    private mutating func run(
        _ code: [RegexProgram.Instruction], at startPosition: Int, requiredEnd: Int?
    ) -> Outcome {
        let baseDepth = stack.count
        var pc = 0
        var position = startPosition
        while true {
            steps += 1
            if steps > budget {
                stack.removeSubrange(baseDepth...)
                return .tooExpensive
            }
            var failed = false
            switch code[pc] {
            case .scalar(let value):
                if position < input.count, input[position] == value {
                    position += 1
                    pc += 1
                } else {
                    failed = true
                }
            case .dot:
                if position < input.count, !RegexCharacterSet.isLineTerminator(input[position]) {
                    position += 1
                    pc += 1
                } else {
                    failed = true
                }
            case .set(let index):
                if position < input.count, program.sets[index].contains(input[position]) {
                    position += 1
                    pc += 1
                } else {
                    failed = true
                }
            case .split(let preferred, let alternative):
                stack.append(.branch(pc: alternative, position: position))
                pc = preferred
            case .jump(let target):
                pc = target
            case .save(let register):
                stack.append(.restore(register: register, value: registers[register]))
                registers[register] = position
                pc += 1
            case .requireProgress(let register):
                if registers[register] == position { failed = true } else { pc += 1 }
            case .inputStart:
                if position == 0 { pc += 1 } else { failed = true }
            case .inputEnd:
                if position == input.count { pc += 1 } else { failed = true }
            case .wordBoundary(let negated):
                let before = position > 0 && RegexCharacterSet.isWordCharacter(input[position - 1])
                let after = position < input.count && RegexCharacterSet.isWordCharacter(input[position])
                if (before != after) != negated { pc += 1 } else { failed = true }
            case .backreference(let group):
                let start = registers[2 * group]
                let end = registers[2 * group + 1]
                if start < 0 || end < start {
                    pc += 1  // an unset group matches the empty string
                } else {
                    let length = end - start
                    if position + length <= input.count,
                        (0..<length).allSatisfy({ input[start + $0] == input[position + $0] })
                    {
                        position += length
                        pc += 1
                    } else {
                        failed = true
                    }
                }
            case .lookaround(let index, let ahead, let negated):
                let outcome = lookaround(index, ahead: ahead, at: position)
                if case .tooExpensive = outcome {
                    stack.removeSubrange(baseDepth...)
                    return .tooExpensive
                }
                let matched = if case .matched = outcome { true } else { false }
                if matched != negated { pc += 1 } else { failed = true }
            case .match:
                if let requiredEnd, position != requiredEnd {
                    failed = true
                } else {
                    stack.removeSubrange(baseDepth...)
                    return .matched
                }
            }
            if failed {
                // Backtrack: undo register writes until the most recent branch.
                var resumed = false
                while stack.count > baseDepth {
                    switch stack.removeLast() {
                    case .restore(let register, let value):
                        registers[register] = value
                    case .branch(let target, let savedPosition):
                        pc = target
                        position = savedPosition
                        resumed = true
                    }
                    if resumed { break }
                }
                if !resumed { return .notMatched }
            }
        }
    }

    /// Runs a lookaround body; a lookbehind tries each start so that the body ends here.
    private mutating func lookaround(_ index: Int, ahead: Bool, at position: Int) -> Outcome {
        let body = program.subprograms[index]
        let saved = registers
        defer { registers = saved }
        if ahead {
            return run(body, at: position, requiredEnd: nil)
        }
        var start = position
        while start >= 0 {
            switch run(body, at: start, requiredEnd: position) {
            case .matched: return .matched
            case .tooExpensive: return .tooExpensive
            case .notMatched: start -= 1
            }
        }
        return .notMatched
    }
}
