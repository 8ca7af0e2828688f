/// A test helper could not do its job (a tool missing, a child process failing, a timeout).
public struct TestSupportError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
