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
