/// Where a subschema sits: which loaded document, and the JSON pointer from its root.
struct SchemaLocation: Hashable {
    var document: Int
    var pointer: [String]

    func appending(_ tokens: String...) -> SchemaLocation {
        SchemaLocation(document: document, pointer: pointer + tokens)
    }
}
