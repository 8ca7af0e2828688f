extension SchemaCompiler {
    /// Compiles the keywords of one schema object, in evaluation order: references, cheap
    /// assertions, applicators, and `unevaluated*` last (they need everyone else's annotations).
    mutating func compileKeywords(
        _ object: JSONObject, at location: SchemaLocation, info: ScanInfo
    ) throws(SchemaError) -> [SchemaKeyword] {
        let vocabularies = vocabularies(of: location)
        var keywords: [SchemaKeyword] = []
        let validation = vocabularies.contains(.validation)
        let applicator = vocabularies.contains(.applicator)

        let absoluteLocation = absolute(location)
        let failure = { @Sendable (keyword: String, message: String) -> SchemaError in
            SchemaError(
                message: "\(message) at \(JSONPointer(tokens: location.pointer + [keyword]))",
                schemaLocation: absoluteLocation + "/" + JSONPointer.escape(keyword))
        }

        // References.
        if let reference = object["$ref"] {
            guard case .string(let text) = reference else { throw failure("$ref", "$ref must be a string") }
            let target = try resolve(text, base: info.base, from: location, keyword: "$ref")
            keywords.append(.ref(try compile(target.location)))
        }
        if let reference = object["$dynamicRef"] {
            guard case .string(let text) = reference else {
                throw failure("$dynamicRef", "$dynamicRef must be a string")
            }
            let target = try resolve(text, base: info.base, from: location, keyword: "$dynamicRef")
            let node = try compile(target.location)
            var anchor: String?
            if let fragment = target.fragment, !fragment.isEmpty, !fragment.hasPrefix("/"),
                case .string(let declared)? = documents[target.location.document].value(
                    at: JSONPointer(tokens: target.location.pointer + ["$dynamicAnchor"])),
                declared == fragment
            {
                anchor = fragment
            }
            keywords.append(.dynamicRef(node, anchor: anchor, text: text))
        }

        // Validation vocabulary.
        if validation {
            if let type = object["type"] {
                keywords.append(.type(try typeSet(type, failure: failure)))
            }
            if let constant = object["const"] {
                keywords.append(.const(constant))
            }
            if let values = object["enum"] {
                guard case .array(let elements) = values else { throw failure("enum", "enum must be an array") }
                var strings: Set<String>? = Set()
                for element in elements {
                    if case .string(let text) = element { strings?.insert(text) } else { strings = nil }
                }
                keywords.append(.enumeration(EnumValues(values: elements, strings: strings)))
            }
            if let divisor = object["multipleOf"] {
                guard case .number(let number) = divisor, number > JSONNumber(0) else {
                    throw failure("multipleOf", "multipleOf must be a number greater than 0")
                }
                keywords.append(.multipleOf(number))
            }
            for (name, make) in [
                ("maximum", SchemaKeyword.maximum), ("exclusiveMaximum", SchemaKeyword.exclusiveMaximum),
                ("minimum", SchemaKeyword.minimum), ("exclusiveMinimum", SchemaKeyword.exclusiveMinimum),
            ] {
                guard let bound = object[name] else { continue }
                guard case .number(let number) = bound else { throw failure(name, "\(name) must be a number") }
                keywords.append(make(number))
            }
            if let limit = object["maxLength"] { keywords.append(.maxLength(try count(limit, "maxLength", failure))) }
            if let limit = object["minLength"] { keywords.append(.minLength(try count(limit, "minLength", failure))) }
            if let pattern = object["pattern"] {
                guard case .string(let source) = pattern else { throw failure("pattern", "pattern must be a string") }
                do {
                    keywords.append(.pattern(try ECMARegex(source)))
                } catch {
                    throw failure("pattern", "invalid regular expression \"\(source)\": \(error.description)")
                }
            }
            if let limit = object["maxItems"] { keywords.append(.maxItems(try count(limit, "maxItems", failure))) }
            if let limit = object["minItems"] { keywords.append(.minItems(try count(limit, "minItems", failure))) }
            if object["uniqueItems"] == .bool(true) { keywords.append(.uniqueItems) }
            if let limit = object["maxProperties"] {
                keywords.append(.maxProperties(try count(limit, "maxProperties", failure)))
            }
            if let limit = object["minProperties"] {
                keywords.append(.minProperties(try count(limit, "minProperties", failure)))
            }
            if let required = object["required"] {
                keywords.append(.required(try stringArray(required, "required", failure)))
            }
            if case .object(let map)? = object["dependentRequired"] {
                var requirements: [DependentRequirement] = []
                for (property, names) in map {
                    requirements.append(
                        DependentRequirement(
                            property: property, required: try stringArray(names, "dependentRequired", failure)))
                }
                keywords.append(.dependentRequired(requirements))
            }
        }

        // Formats: asserted only when asked to.
        if options.assertFormats, vocabularies.contains(.format), let format = object["format"] {
            guard case .string(let name) = format else { throw failure("format", "format must be a string") }
            guard let kind = FormatKind(rawValue: name) else {
                // Named by the subschema that uses it: "unknown format "x" at /properties/y".
                throw SchemaError(
                    message: "unknown format \"\(name)\" at \(JSONPointer(tokens: location.pointer))",
                    schemaLocation: absoluteLocation + "/format")
            }
            keywords.append(.format(kind))
        }

        // Applicators.
        if applicator {
            try compileApplicators(object, at: location, into: &keywords, validation: validation, failure: failure)
        }

        // Unevaluated vocabulary, last.
        if vocabularies.contains(.unevaluated) {
            if object["unevaluatedItems"] != nil {
                keywords.append(.unevaluatedItems(try compile(location.appending("unevaluatedItems"))))
            }
            if object["unevaluatedProperties"] != nil {
                keywords.append(.unevaluatedProperties(try compile(location.appending("unevaluatedProperties"))))
            }
        }
        return keywords
    }

    private mutating func compileApplicators(
        _ object: JSONObject, at location: SchemaLocation, into keywords: inout [SchemaKeyword], validation: Bool,
        failure: (String, String) -> SchemaError
    ) throws(SchemaError) {
        for name in ["allOf", "anyOf", "oneOf"] {
            guard let value = object[name] else { continue }
            guard case .array(let children) = value, !children.isEmpty else {
                throw failure(name, "\(name) must be a non-empty array of schemas")
            }
            var nodes: [Int] = []
            for index in children.indices {
                nodes.append(try compile(location.appending(name, String(index))))
            }
            switch name {
            case "allOf": keywords.append(.allOf(nodes))
            case "anyOf": keywords.append(.anyOf(nodes))
            default: keywords.append(.oneOf(nodes))
            }
        }
        if object["not"] != nil {
            keywords.append(.not(try compile(location.appending("not"))))
        }
        if object["if"] != nil {
            let condition = try compile(location.appending("if"))
            let then = object["then"] != nil ? try compile(location.appending("then")) : nil
            let otherwise = object["else"] != nil ? try compile(location.appending("else")) : nil
            // Kept even without then/else: a passing `if` still contributes annotations.
            keywords.append(.conditional(if: condition, then: then, else: otherwise))
        }
        if case .object(let map)? = object["dependentSchemas"] {
            var dependents: [DependentSchema] = []
            for (property, _) in map {
                dependents.append(
                    DependentSchema(
                        property: property, node: try compile(location.appending("dependentSchemas", property))))
            }
            keywords.append(.dependentSchemas(dependents))
        }

        var members = ObjectMembers()
        var hasMembers = false
        if case .object(let map)? = object["properties"] {
            hasMembers = true
            for (name, _) in map {
                members.properties.append(
                    ObjectMembers.Property(name: name, node: try compile(location.appending("properties", name))))
            }
            if members.properties.count > 8 {
                var index: [String: Int] = [:]
                for (position, property) in members.properties.enumerated() { index[property.name] = position }
                members.propertyIndex = index
            }
        }
        if case .object(let map)? = object["patternProperties"] {
            hasMembers = true
            for (source, _) in map {
                let regex: ECMARegex
                do {
                    regex = try ECMARegex(source)
                } catch {
                    throw failure("patternProperties", "invalid regular expression \"\(source)\": \(error.description)")
                }
                members.patterns.append(
                    ObjectMembers.Pattern(
                        regex: regex, node: try compile(location.appending("patternProperties", source))))
            }
        }
        if object["additionalProperties"] != nil {
            hasMembers = true
            members.additional = try compile(location.appending("additionalProperties"))
        }
        if hasMembers { keywords.append(.objectMembers(members)) }
        if object["propertyNames"] != nil {
            keywords.append(.propertyNames(try compile(location.appending("propertyNames"))))
        }

        var prefix: [Int] = []
        if case .array(let children)? = object["prefixItems"] {
            for index in children.indices {
                prefix.append(try compile(location.appending("prefixItems", String(index))))
            }
        }
        var items: Int?
        if let value = object["items"] {
            if case .array(let children) = value {
                // Draft 2019-09 tuple form, accepted for documents written to the older draft.
                for index in children.indices {
                    prefix.append(try compile(location.appending("items", String(index))))
                }
                if object["additionalItems"] != nil { items = try compile(location.appending("additionalItems")) }
            } else {
                items = try compile(location.appending("items"))
            }
        }
        if !prefix.isEmpty || items != nil { keywords.append(.arrayItems(ArrayItems(prefix: prefix, items: items))) }

        if object["contains"] != nil {
            let node = try compile(location.appending("contains"))
            var minimum = 1
            var minimumGiven = false
            var maximum: Int?
            if validation {
                if let value = object["minContains"] {
                    minimum = try count(value, "minContains", failure)
                    minimumGiven = true
                }
                if let value = object["maxContains"] { maximum = try count(value, "maxContains", failure) }
            }
            keywords.append(.contains(node, minimum: minimum, maximum: maximum, minimumGiven: minimumGiven))
        }
    }

    private func typeSet(_ value: JSONValue, failure: (String, String) -> SchemaError) throws(SchemaError) -> TypeSet {
        var names: [String] = []
        switch value {
        case .string(let name): names = [name]
        case .array(let elements):
            for element in elements {
                guard case .string(let name) = element else { throw failure("type", "type must name JSON types") }
                names.append(name)
            }
        default: throw failure("type", "type must be a string or an array of strings")
        }
        var set = TypeSet(bits: 0)
        for name in names {
            guard let match = TypeSet.names.first(where: { $0.0 == name }) else {
                throw failure("type", "unknown type \"\(name)\"")
            }
            set.bits |= match.1.bits
        }
        return set
    }

    private func count(
        _ value: JSONValue, _ keyword: String, _ failure: (String, String) -> SchemaError
    ) throws(SchemaError) -> Int {
        guard case .number(let number) = value, number.isInteger, number >= JSONNumber(0) else {
            throw failure(keyword, "\(keyword) must be a non-negative integer")
        }
        return number.intValue ?? Int.max
    }

    private func stringArray(
        _ value: JSONValue, _ keyword: String, _ failure: (String, String) -> SchemaError
    ) throws(SchemaError) -> [String] {
        guard case .array(let elements) = value else { throw failure(keyword, "\(keyword) must be an array of strings") }
        var names: [String] = []
        for element in elements {
            guard case .string(let name) = element else {
                throw failure(keyword, "\(keyword) must be an array of strings")
            }
            names.append(name)
        }
        return names
    }
}
