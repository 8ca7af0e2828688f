/// The parsed form of a pattern.
indirect enum RegexNode: Sendable {
    case empty
    case scalar(UInt32)
    /// `.`: any scalar except line terminators.
    case dot
    case set(RegexCharacterSet)
    case sequence([RegexNode])
    case alternation([RegexNode])
    /// A group; `capture` is the 1-based capture number for capturing groups.
    case group(RegexNode, capture: Int?)
    case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
    case inputStart
    case inputEnd
    case wordBoundary(negated: Bool)
    case backreference(Int)
    case lookaround(RegexNode, ahead: Bool, negated: Bool)

    /// Whether the node can match the empty string (decides whether loops need progress checks).
    var canMatchEmpty: Bool {
        switch self {
        case .empty, .inputStart, .inputEnd, .wordBoundary, .lookaround, .backreference: return true
        case .scalar, .dot, .set: return false
        case .sequence(let nodes): return nodes.allSatisfy(\.canMatchEmpty)
        case .alternation(let nodes): return nodes.contains(where: \.canMatchEmpty)
        case .group(let node, _): return node.canMatchEmpty
        case .repetition(let node, let min, _, _): return min == 0 || node.canMatchEmpty
        }
    }
}
