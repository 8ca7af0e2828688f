/// How a schema is compiled and instances are checked.
public struct SchemaOptions: Sendable {
    /// false: `format` is an annotation only (the standard default); true: formats are checked and
    /// an unknown format name is a compile error.
    public var assertFormats: Bool = false
    /// Documents that `$ref` may load, by absolute URI without fragment
    /// (e.g. "http://localhost:1234/integer.json"). Nothing is ever fetched over the network.
    public var remoteDocuments: [String: JSONValue] = [:]
    /// Backtracking steps allowed for one regular-expression match; a pattern that needs more
    /// makes the instance invalid with a clear error.
    public var maxRegexSteps: Int = 100_000

    public init() {}
}
