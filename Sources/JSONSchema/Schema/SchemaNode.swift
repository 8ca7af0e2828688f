/// One compiled subschema. Nodes refer to each other by index into `CompiledSchema.nodes`, so
/// recursive schemas are plain cycles of indexes.
struct SchemaNode: Sendable {
    enum Body: Sendable {
        case boolean(Bool)
        case keywords([SchemaKeyword])
    }

    var body: Body
    /// Absolute URI of this subschema with a JSON-pointer fragment.
    var location: String
    /// The schema resource this node belongs to (for `$dynamicRef` scope).
    var resource: Int
    /// Has `unevaluatedProperties`/`unevaluatedItems`, so its applicators must report annotations.
    var tracksEvaluation: Bool
    var description: String?
    /// An `errorMessage` annotation (a string), used in place of generated messages for
    /// `if`/`then` rule failures.
    var errorMessage: String?

    static let placeholder = SchemaNode(
        body: .boolean(true), location: "", resource: 0, tracksEvaluation: false, description: nil, errorMessage: nil)
}
