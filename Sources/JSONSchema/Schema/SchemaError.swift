/// A schema that cannot be compiled.
public struct SchemaError: Error, Sendable, CustomStringConvertible {
    /// e.g. "unknown format \"nhs-numbr\" at /properties/child/properties/nhsNumber".
    public var message: String
    /// Absolute URI with a JSON-pointer fragment.
    public var schemaLocation: String

    public init(message: String, schemaLocation: String) {
        self.message = message
        self.schemaLocation = schemaLocation
    }

    public var description: String { schemaLocation.isEmpty ? message : "\(schemaLocation): \(message)" }
}
