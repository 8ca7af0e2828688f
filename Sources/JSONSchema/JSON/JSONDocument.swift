/// A parsed document that remembers its source so errors can point at line:column.
public struct JSONDocument: Sendable {
    public let root: JSONValue
    public let bytes: [UInt8]

    public init(parsing bytes: [UInt8], options: JSONParseOptions = .init()) throws(JSONParseError) {
        self.root = try JSONParser.parse(bytes, options: options)
        self.bytes = bytes
    }

    /// Parses `text` as UTF-8.
    public init(parsing text: String, options: JSONParseOptions = .init()) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8), options: options)
    }

    /// Line:column where the value at `pointer` starts; for a missing member, where the nearest
    /// existing ancestor starts. Re-scans the source: only meant for error reports.
    public func location(of pointer: JSONPointer) -> SourceLocation? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let offset = SourceScanner(bytes: buffer).startOffset(of: pointer) else { return nil }
            return SourceLocation.of(byteOffset: offset, in: buffer)
        }
    }
}
