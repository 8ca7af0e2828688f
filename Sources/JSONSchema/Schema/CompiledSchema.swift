/// The immutable result of compiling a schema: a graph of nodes plus the dynamic-anchor table.
final class CompiledSchema: Sendable {
    let nodes: [SchemaNode]
    let root: Int
    /// Per resource: `$dynamicAnchor` name → node.
    let dynamicAnchors: [[String: Int]]
    let maxRegexSteps: Int

    init(nodes: [SchemaNode], root: Int, dynamicAnchors: [[String: Int]], maxRegexSteps: Int) {
        self.nodes = nodes
        self.root = root
        self.dynamicAnchors = dynamicAnchors
        self.maxRegexSteps = maxRegexSteps
    }
}
