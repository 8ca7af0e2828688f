/// The outcome of validating one instance.
public struct ValidationResult: Sendable {
    /// All errors, ordered by instance location in document order, then keyword location.
    public var errors: [ValidationError]

    public init(errors: [ValidationError]) {
        self.errors = errors
    }

    public var isValid: Bool { errors.isEmpty }
}
