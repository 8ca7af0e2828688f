/// One compiled subschema. Nodes refer to each other by index into `CompiledSchema.nodes`, so
/// recursive schemas are plain cycles of indexes.
struct SchemaNode: Sendable {
    enum Body: Sendable {
        case boolean(Bool)
        case keywords([SchemaKeyword])
    }

    var body: Body
    /// Absolute URI of this subschema with a JSON-pointer fragment.
    var location: String
    /// The schema resource this node belongs to (for `$dynamicRef` scope).
    var resource: Int
    /// Has `unevaluatedProperties`/`unevaluatedItems`, so its applicators must report annotations.
    var tracksEvaluation: Bool
    var description: String?
    /// An `errorMessage` annotation (a string), used in place of generated messages for
    /// `if`/`then` rule failures.
    var errorMessage: String?

    static let placeholder = SchemaNode(
        body: .boolean(true), location: "", resource: 0, tracksEvaluation: false, description: nil, errorMessage: nil)
}

/// A compiled keyword. `unevaluated*` keywords are always last in a node's list.
/// Payloads with several reference-counted parts are `indirect`: copying a keyword then costs
/// one retain instead of one per part (this is on the hot path).
enum SchemaKeyword: Sendable {
    case ref(Int)
    /// `$dynamicRef`: the statically resolved node, and the anchor name when the target is
    /// bookended by a matching `$dynamicAnchor` (so the dynamic scope is searched).
    indirect case dynamicRef(Int, anchor: String?, text: String)
    case type(TypeSet)
    indirect case enumeration(EnumValues)
    indirect case const(JSONValue)
    indirect case multipleOf(JSONNumber)
    indirect case maximum(JSONNumber)
    indirect case exclusiveMaximum(JSONNumber)
    indirect case minimum(JSONNumber)
    indirect case exclusiveMinimum(JSONNumber)
    case maxLength(Int)
    case minLength(Int)
    case pattern(ECMARegex)
    case format(FormatKind)
    case maxItems(Int)
    case minItems(Int)
    case uniqueItems
    case contains(Int, minimum: Int, maximum: Int?, minimumGiven: Bool)
    case maxProperties(Int)
    case minProperties(Int)
    case required([String])
    indirect case dependentRequired([DependentRequirement])
    case allOf([Int])
    case anyOf([Int])
    case oneOf([Int])
    case not(Int)
    case conditional(if: Int, then: Int?, else: Int?)
    indirect case dependentSchemas([DependentSchema])
    indirect case objectMembers(ObjectMembers)
    case propertyNames(Int)
    indirect case arrayItems(ArrayItems)
    case unevaluatedItems(Int)
    case unevaluatedProperties(Int)
}

/// JSON Schema type names as a bit set.
struct TypeSet: Sendable, Equatable {
    var bits: UInt8

    static let null = TypeSet(bits: 1)
    static let boolean = TypeSet(bits: 2)
    static let object = TypeSet(bits: 4)
    static let array = TypeSet(bits: 8)
    static let number = TypeSet(bits: 16)
    static let string = TypeSet(bits: 32)
    static let integer = TypeSet(bits: 64)

    /// In message order: "null" last reads best ("a string or null").
    static let names: [(String, TypeSet)] = [
        ("object", .object), ("array", .array), ("string", .string), ("integer", .integer), ("number", .number),
        ("boolean", .boolean), ("null", .null),
    ]

    func contains(_ other: TypeSet) -> Bool { bits & other.bits != 0 }

    func matches(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return contains(.null)
        case .bool: return contains(.boolean)
        case .object: return contains(.object)
        case .array: return contains(.array)
        case .string: return contains(.string)
        case .number(let number): return contains(.number) || (contains(.integer) && number.isInteger)
        }
    }

    /// "string", "string or null", "integer, string or null".
    var humanList: String {
        let names = Self.names.filter { contains($0.1) }.map(\.0)
        guard names.count > 1 else { return names.first ?? "nothing" }
        return names.dropLast().joined(separator: ", ") + " or " + (names.last ?? "")
    }
}

/// `enum` values, with a fast path for all-string enums.
struct EnumValues: Sendable {
    var values: [JSONValue]
    var strings: Set<String>?
}

struct DependentRequirement: Sendable {
    var property: String
    var required: [String]
}

struct DependentSchema: Sendable {
    var property: String
    var node: Int
}

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
