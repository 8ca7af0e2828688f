/// A malformed JSON pointer.
public struct JSONPointerError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(description: String) {
        self.description = description
    }
}
