/// `properties`, `patternProperties` and `additionalProperties` together: they are evaluated in
/// one pass over the members, since `additionalProperties` depends on the other two.
struct ObjectMembers: Sendable {
    struct Property: Sendable {
        var name: String
        var node: Int
    }

    struct Pattern: Sendable {
        var regex: ECMARegex
        var node: Int
    }

    var properties: [Property] = []
    /// Name → position in `properties`, for schemas with many properties.
    var propertyIndex: [String: Int]?
    var patterns: [Pattern] = []
    var additional: Int?

    func property(named name: String) -> Int? {
        if let propertyIndex { return propertyIndex[name].map { properties[$0].node } }
        return properties.withUnsafeBufferPointer { buffer in
            for position in buffer.indices where buffer[position].name == name { return buffer[position].node }
            return nil
        }
    }
}

/// `prefixItems` and `items` together.
struct ArrayItems: Sendable {
    var prefix: [Int]
    var items: Int?
}
