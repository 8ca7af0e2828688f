extension Schema {
    /// Does the schema define this instance path? Tokens are property names, "*" meaning any
    /// array element. Follows properties, prefixItems/items, schema-valued
    /// additionalProperties/patternProperties, $ref/$dynamicRef and every branch of
    /// allOf/anyOf/oneOf/if/then/else/dependentSchemas. Returns the property's `description`.
    public func lookup(path: [String]) -> SchemaPathLookup {
        var current = expand([compiled.root])
        for token in path {
            var next: [Int] = []
            for index in current {
                guard case .keywords(let keywords) = compiled.nodes[index].body else { continue }
                for keyword in keywords {
                    switch keyword {
                    case .objectMembers(let members) where token != "*":
                        if let property = members.property(named: token) { next.append(property) }
                        for pattern in members.patterns where pattern.regex.matches(token) {
                            next.append(pattern.node)
                        }
                        if let additional = members.additional, isObjectSchema(additional) { next.append(additional) }
                    case .arrayItems(let items) where token == "*":
                        next.append(contentsOf: items.prefix)
                        if let rest = items.items { next.append(rest) }
                    default:
                        continue
                    }
                }
            }
            current = expand(next.filter { !isFalseSchema($0) })
            if current.isEmpty { return .undefined }
        }
        for index in current {
            if let description = compiled.nodes[index].description { return .defined(description: description) }
        }
        return .defined(description: nil)
    }

    /// The nodes plus everything reachable through in-place applicators, in order, each once.
    private func expand(_ start: [Int]) -> [Int] {
        var result: [Int] = []
        var seen = Set<Int>()
        var queue = start
        var cursor = 0
        while cursor < queue.count {
            let index = queue[cursor]
            cursor += 1
            guard seen.insert(index).inserted else { continue }
            result.append(index)
            guard case .keywords(let keywords) = compiled.nodes[index].body else { continue }
            for keyword in keywords {
                switch keyword {
                case .ref(let target), .dynamicRef(let target, _, _): queue.append(target)
                case .allOf(let children), .anyOf(let children), .oneOf(let children): queue.append(contentsOf: children)
                case .conditional(let condition, let then, let otherwise):
                    queue.append(condition)
                    if let then { queue.append(then) }
                    if let otherwise { queue.append(otherwise) }
                case .dependentSchemas(let dependents): queue.append(contentsOf: dependents.map(\.node))
                default: continue
                }
            }
        }
        return result
    }

    private func isFalseSchema(_ index: Int) -> Bool {
        if case .boolean(false) = compiled.nodes[index].body { return true }
        return false
    }

    private func isObjectSchema(_ index: Int) -> Bool {
        if case .keywords = compiled.nodes[index].body { return true }
        return false
    }
}
