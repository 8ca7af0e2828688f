/// Translates a `RegexNode` into a `RegexProgram`.
struct RegexCompiler {
    private var program = RegexProgram()

    static func compile(_ node: RegexNode, captureCount: Int) throws(RegexSyntaxError) -> RegexProgram {
        var compiler = RegexCompiler()
        compiler.program.captureCount = captureCount
        compiler.program.registerCount = 2 * (captureCount + 1)
        var main: [RegexProgram.Instruction] = []
        try compiler.emit(node, into: &main)
        main.append(.match)
        compiler.program.instructions = main
        compiler.program.anchoredAtStart = Self.startsWithInputStart(node)
        return compiler.program
    }

    private static func startsWithInputStart(_ node: RegexNode) -> Bool {
        switch node {
        case .inputStart: return true
        case .sequence(let nodes): return nodes.first.map(startsWithInputStart) ?? false
        case .group(let inner, _): return startsWithInputStart(inner)
        case .alternation(let nodes): return !nodes.isEmpty && nodes.allSatisfy(startsWithInputStart)
        default: return false
        }
    }

    private mutating func emit(_ node: RegexNode, into code: inout [RegexProgram.Instruction]) throws(RegexSyntaxError) {
        if code.count > RegexProgram.maxInstructions {
            throw RegexSyntaxError(description: "the pattern is too large (repetition counts too high)")
        }
        switch node {
        case .empty:
            break
        case .scalar(let value):
            code.append(.scalar(value))
        case .dot:
            code.append(.dot)
        case .set(let set):
            program.sets.append(set)
            code.append(.set(program.sets.count - 1))
        case .sequence(let nodes):
            for inner in nodes { try emit(inner, into: &code) }
        case .alternation(let nodes):
            // split L1, next; L1: a; jump end; next: split L2, next2; ...
            var jumpsToEnd: [Int] = []
            for (index, inner) in nodes.enumerated() {
                if index < nodes.count - 1 {
                    let splitAt = code.count
                    code.append(.split(preferred: splitAt + 1, alternative: -1))
                    try emit(inner, into: &code)
                    jumpsToEnd.append(code.count)
                    code.append(.jump(-1))
                    code[splitAt] = .split(preferred: splitAt + 1, alternative: code.count)
                } else {
                    try emit(inner, into: &code)
                }
            }
            for jump in jumpsToEnd { code[jump] = .jump(code.count) }
        case .group(let inner, let capture):
            if let capture {
                code.append(.save(register: 2 * capture))
                try emit(inner, into: &code)
                code.append(.save(register: 2 * capture + 1))
            } else {
                try emit(inner, into: &code)
            }
        case .repetition(let inner, let minimum, let maximum, let greedy):
            try emitRepetition(inner, minimum: minimum, maximum: maximum, greedy: greedy, into: &code)
        case .inputStart:
            code.append(.inputStart)
        case .inputEnd:
            code.append(.inputEnd)
        case .wordBoundary(let negated):
            code.append(.wordBoundary(negated: negated))
        case .backreference(let group):
            guard group >= 1, group <= program.captureCount else {
                throw RegexSyntaxError(description: "backreference to a group that does not exist")
            }
            code.append(.backreference(group: group))
        case .lookaround(let inner, let ahead, let negated):
            var body: [RegexProgram.Instruction] = []
            try emit(inner, into: &body)
            body.append(.match)
            program.subprograms.append(body)
            code.append(.lookaround(program: program.subprograms.count - 1, ahead: ahead, negated: negated))
        }
    }

    private mutating func emitRepetition(
        _ inner: RegexNode, minimum: Int, maximum: Int?, greedy: Bool, into code: inout [RegexProgram.Instruction]
    ) throws(RegexSyntaxError) {
        if minimum > RegexProgram.maxInstructions || (maximum ?? 0) > RegexProgram.maxInstructions {
            throw RegexSyntaxError(description: "the pattern is too large (repetition counts too high)")
        }
        for _ in 0..<minimum { try emit(inner, into: &code) }
        let needsProgressCheck = inner.canMatchEmpty
        if let maximum {
            // Optional copies: split body, end; body; ... all skips go to the end.
            var splits: [Int] = []
            for _ in minimum..<maximum {
                splits.append(code.count)
                code.append(.split(preferred: -1, alternative: -1))
                try emit(inner, into: &code)
            }
            let end = code.count
            for split in splits {
                code[split] = greedy
                    ? .split(preferred: split + 1, alternative: end) : .split(preferred: end, alternative: split + 1)
            }
        } else {
            // loop: split body, end; body: [save mark] inner [requireProgress]; jump loop; end:
            let loop = code.count
            code.append(.split(preferred: -1, alternative: -1))
            var mark = -1
            if needsProgressCheck {
                mark = program.registerCount
                program.registerCount += 1
                code.append(.save(register: mark))
            }
            try emit(inner, into: &code)
            if needsProgressCheck { code.append(.requireProgress(register: mark)) }
            code.append(.jump(loop))
            let end = code.count
            code[loop] = greedy
                ? .split(preferred: loop + 1, alternative: end) : .split(preferred: end, alternative: loop + 1)
        }
    }
}
