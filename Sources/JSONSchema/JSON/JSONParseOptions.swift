/// Limits applied while parsing untrusted JSON.
public struct JSONParseOptions: Sendable {
    /// Nesting of arrays/objects.
    public var maxDepth: Int = 64
    public var maxBytes: Int = 16 << 20
    /// Bytes of one string as written in the source.
    public var maxStringBytes: Int = 1 << 20
    /// Members of one object or elements of one array.
    public var maxMembers: Int = 100_000

    public init() {}
}
