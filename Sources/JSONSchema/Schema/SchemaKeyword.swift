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
