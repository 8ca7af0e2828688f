/// One name in a directory listing ("." and ".." excluded).
public struct DirectoryEntry: Sendable, Hashable {
    /// The entry's name. A name that is not valid UTF-8 is decoded with replacement characters and
    /// will not open; such files cannot be named through this API.
    public var name: String
    public var kind: FileKind

    public init(name: String, kind: FileKind) {
        self.name = name
        self.kind = kind
    }
}
