/// Whether a schema defines an instance path, and the property's description when it has one.
public enum SchemaPathLookup: Sendable, Equatable {
    case undefined
    case defined(description: String?)
}
