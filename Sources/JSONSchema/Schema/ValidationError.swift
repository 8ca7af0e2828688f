/// One reason an instance does not conform.
public struct ValidationError: Sendable, Hashable, CustomStringConvertible {
    public var instanceLocation: JSONPointer
    /// The evaluation path, through `$ref`.
    public var keywordLocation: JSONPointer
    /// Absolute schema URI with a JSON-pointer fragment.
    public var absoluteKeywordLocation: String
    /// "required", "format", "enum", ...
    public var keyword: String
    /// Plain English for the person who fixes the file; starts with the dotted path.
    public var message: String
    public var sourceLocation: SourceLocation?

    public init(
        instanceLocation: JSONPointer, keywordLocation: JSONPointer, absoluteKeywordLocation: String, keyword: String,
        message: String, sourceLocation: SourceLocation? = nil
    ) {
        self.instanceLocation = instanceLocation
        self.keywordLocation = keywordLocation
        self.absoluteKeywordLocation = absoluteKeywordLocation
        self.keyword = keyword
        self.message = message
        self.sourceLocation = sourceLocation
    }

    /// "12:5 /child/nhsNumber [format] child.nhsNumber: ...".
    public var description: String {
        let pointer = instanceLocation.isRoot ? "/" : instanceLocation.description
        if let sourceLocation {
            return "\(sourceLocation) \(pointer) [\(keyword)] \(message)"
        }
        return "\(pointer) [\(keyword)] \(message)"
    }
}
