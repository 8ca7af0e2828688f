extension Evaluator {
    /// Evaluates one keyword of `node`. Keywords that do not apply to the instance's type pass.
    mutating func evaluate(
        _ keyword: SchemaKeyword, of nodeIndex: Int, _ instance: JSONValue, _ evaluated: inout EvaluatedSet?
    ) -> Bool {
        switch keyword {
        case .ref(let target):
            return evaluateInPlace(target, instance, &evaluated, keyword: "$ref")

        case .dynamicRef(let target, let anchor, _):
            var resolved = target
            if let anchor {
                for resource in dynamicScope {
                    if let dynamic = schema.dynamicAnchors[resource][anchor] {
                        resolved = dynamic
                        break
                    }
                }
            }
            return evaluateInPlace(resolved, instance, &evaluated, keyword: "$dynamicRef")

        case .type(let types):
            if types.matches(instance) { return true }
            if reporting {
                report(nodes[nodeIndex], keyword: "type", message: "should be \(Self.article(types.humanList)) but is \(Self.kind(of: instance))")
            }
            return false

        case .enumeration(let allowed):
            if let strings = allowed.strings {
                // Set membership uses canonical equivalence; confirm non-ASCII hits by code points.
                if case .string(let text) = instance, strings.contains(text),
                    text.utf8.allSatisfy({ $0 < 0x80 }) || allowed.values.contains(instance)
                {
                    return true
                }
            } else if allowed.values.contains(instance) {
                return true
            }
            if reporting {
                report(nodes[nodeIndex], keyword: "enum", message: "\(Self.describe(instance)) is not one of \(Self.list(allowed.values))")
            }
            return false

        case .const(let expected):
            if instance == expected { return true }
            if reporting {
                report(nodes[nodeIndex], keyword: "const", message: "should be \(Self.describe(expected, quoteLimit: 60)) but is \(Self.describe(instance))")
            }
            return false

        case .multipleOf(let divisor):
            guard case .number(let number) = instance else { return true }
            if number.isMultiple(of: divisor) { return true }
            if reporting { report(nodes[nodeIndex], keyword: "multipleOf", message: "\(number) is not a multiple of \(divisor)") }
            return false

        case .maximum(let bound):
            guard case .number(let number) = instance else { return true }
            if number <= bound { return true }
            if reporting { report(nodes[nodeIndex], keyword: "maximum", message: "\(number) is more than the maximum of \(bound)") }
            return false

        case .exclusiveMaximum(let bound):
            guard case .number(let number) = instance else { return true }
            if number < bound { return true }
            if reporting { report(nodes[nodeIndex], keyword: "exclusiveMaximum", message: "\(number) should be less than \(bound)") }
            return false

        case .minimum(let bound):
            guard case .number(let number) = instance else { return true }
            if number >= bound { return true }
            if reporting { report(nodes[nodeIndex], keyword: "minimum", message: "\(number) is less than the minimum of \(bound)") }
            return false

        case .exclusiveMinimum(let bound):
            guard case .number(let number) = instance else { return true }
            if number > bound { return true }
            if reporting { report(nodes[nodeIndex], keyword: "exclusiveMinimum", message: "\(number) should be more than \(bound)") }
            return false

        case .maxLength(let limit):
            guard case .string(let text) = instance else { return true }
            if text.utf8.count <= limit { return true }  // scalars never outnumber bytes
            let length = text.unicodeScalars.count
            if length <= limit { return true }
            if reporting {
                report(nodes[nodeIndex], keyword: "maxLength", message: "is \(length) characters long; the maximum is \(limit)")
            }
            return false

        case .minLength(let limit):
            guard case .string(let text) = instance else { return true }
            if (text.utf8.count + 3) / 4 >= limit { return true }  // a scalar is at most 4 bytes
            let length = text.unicodeScalars.count
            if length >= limit { return true }
            if reporting {
                let unit = limit == 1 ? "character" : "characters"
                report(nodes[nodeIndex], keyword: "minLength", message: "is \(length) characters long; it should have at least \(limit) \(unit)")
            }
            return false

        case .pattern(let regex):
            guard case .string(let text) = instance else { return true }
            switch regex.search(in: text, budget: schema.maxRegexSteps) {
            case .matched:
                return true
            case .notMatched:
                if reporting {
                    report(nodes[nodeIndex], keyword: "pattern", message: "\(Self.describe(instance)) does not match the pattern \(regex.source)")
                }
                return false
            case .tooExpensive:
                if reporting {
                    report(nodes[nodeIndex], keyword: "pattern", message: "the pattern \(regex.source) is too expensive to evaluate on this value")
                }
                return false
            }

        case .format(let format):
            guard let problem = format.check(instance) else { return true }
            if reporting { report(nodes[nodeIndex], keyword: "format", message: problem) }
            return false

        case .maxItems(let limit):
            guard case .array(let elements) = instance else { return true }
            if elements.count <= limit { return true }
            if reporting { report(nodes[nodeIndex], keyword: "maxItems", message: "has \(elements.count) items; the maximum is \(limit)") }
            return false

        case .minItems(let limit):
            guard case .array(let elements) = instance else { return true }
            if elements.count >= limit { return true }
            if reporting {
                report(nodes[nodeIndex], keyword: "minItems", message: "has \(elements.count) \(elements.count == 1 ? "item" : "items"); at least \(limit) \(limit == 1 ? "is" : "are") required")
            }
            return false

        case .uniqueItems:
            guard case .array(let elements) = instance else { return true }
            guard let (first, second) = Self.firstDuplicate(elements) else { return true }
            if reporting {
                report(nodes[nodeIndex], keyword: "uniqueItems", message: "items \(first) and \(second) are the same; items must be unique")
            }
            return false

        case .maxProperties(let limit):
            guard case .object(let object) = instance else { return true }
            if object.count <= limit { return true }
            if reporting { report(nodes[nodeIndex], keyword: "maxProperties", message: "has \(object.count) fields; the maximum is \(limit)") }
            return false

        case .minProperties(let limit):
            guard case .object(let object) = instance else { return true }
            if object.count >= limit { return true }
            if reporting { report(nodes[nodeIndex], keyword: "minProperties", message: "has \(object.count) fields; at least \(limit) required") }
            return false

        case .required(let names):
            guard case .object(let object) = instance else { return true }
            var valid = true
            for name in names where object.position(of: name) == nil {
                valid = false
                guard reporting else { return false }
                report(nodes[nodeIndex], keyword: "required", message: "\(Self.quote(name)) is required")
            }
            return valid

        case .dependentRequired(let requirements):
            guard case .object(let object) = instance else { return true }
            var valid = true
            for requirement in requirements where object.position(of: requirement.property) != nil {
                for name in requirement.required where object.position(of: name) == nil {
                    valid = false
                    guard reporting else { return false }
                    report(
                        nodes[nodeIndex], keyword: "dependentRequired", suffix: [requirement.property],
                        message: "\(Self.quote(name)) is required when \(Self.quote(requirement.property)) is present")
                }
            }
            return valid

        case .allOf(let children):
            var valid = true
            for (position, child) in children.enumerated() {
                if !evaluateInPlace(child, instance, &evaluated, keyword: "allOf", detailIndex: position) {
                    valid = false
                    if !reporting { return false }
                }
            }
            return valid

        case .anyOf(let children):
            var matched = false
            for child in children {
                if probe(child, instance, &evaluated) {
                    matched = true
                    if evaluated == nil { break }  // without annotations, one match settles it
                }
            }
            if !matched && reporting { reportAlternatives(nodeIndex, keyword: "anyOf", children, instance, matches: []) }
            return matched

        case .oneOf(let children):
            var matches: [Int] = []
            var annotations: EvaluatedSet? = evaluated != nil ? EvaluatedSet() : nil
            for (position, child) in children.enumerated() {
                if probe(child, instance, &annotations) {
                    matches.append(position)
                    if matches.count > 1 && !reporting { return false }
                }
            }
            if matches.count == 1 {
                if let annotations { evaluated?.formUnion(annotations) }
                return true
            }
            if reporting { reportAlternatives(nodeIndex, keyword: "oneOf", children, instance, matches: matches) }
            return false

        case .not(let child):
            var none: EvaluatedSet? = nil
            if !probe(child, instance, &none) { return true }
            if reporting { report(nodes[nodeIndex], keyword: "not", message: Self.notMessage(nodes[child])) }
            return false

        case .conditional(let condition, let then, let otherwise):
            if probe(condition, instance, &evaluated) {
                guard let then else { return true }
                return evaluateRule(then, nodeIndex, condition: condition, instance, &evaluated, branch: "then")
            } else {
                guard let otherwise else { return true }
                return evaluateRule(otherwise, nodeIndex, condition: nil, instance, &evaluated, branch: "else")
            }

        case .dependentSchemas(let dependents):
            guard case .object(let object) = instance else { return true }
            var valid = true
            for dependent in dependents where object.position(of: dependent.property) != nil {
                if !evaluateInPlace(
                    dependent.node, instance, &evaluated, keyword: "dependentSchemas", detail: dependent.property) {
                    valid = false
                    if !reporting { return false }
                }
            }
            return valid

        case .objectMembers(let members):
            guard case .object(let object) = instance else { return true }
            return evaluateMembers(members, of: nodeIndex, object, &evaluated)

        case .propertyNames(let child):
            guard case .object(let object) = instance else { return true }
            var valid = true
            for member in object {
                var none: EvaluatedSet? = nil
                if !probe(child, .string(member.key), &none) {
                    valid = false
                    guard reporting else { return false }
                    report(nodes[nodeIndex], keyword: "propertyNames", message: "the field name \(Self.quote(member.key)) is not allowed")
                }
            }
            return valid

        case .arrayItems(let items):
            guard case .array(let elements) = instance else { return true }
            return evaluateItems(items, of: nodeIndex, elements, &evaluated)

        case .contains(let child, let minimum, let maximum, let minimumGiven):
            guard case .array(let elements) = instance else { return true }
            var count = 0
            for (position, element) in elements.enumerated() {
                var none: EvaluatedSet? = nil
                if probe(child, element, &none) {
                    count += 1
                    evaluated?.insert(position)
                    if evaluated == nil, !reporting, count >= minimum, maximum == nil { return true }
                }
            }
            if count < minimum {
                if reporting {
                    let message = minimumGiven
                        ? "has \(count) matching \(count == 1 ? "item" : "items"); at least \(minimum) required"
                        : "has no item that matches the required schema"
                    report(nodes[nodeIndex], keyword: minimumGiven ? "minContains" : "contains", message: message)
                }
                return false
            }
            if let maximum, count > maximum {
                if reporting {
                    report(nodes[nodeIndex], keyword: "maxContains", message: "has \(count) matching items; at most \(maximum) allowed")
                }
                return false
            }
            return true

        case .unevaluatedItems(let child):
            guard case .array(let elements) = instance else { return true }
            var valid = true
            for (position, element) in elements.enumerated() where evaluated?.contains(position) != true {
                if isFalse(child) {
                    valid = false
                    guard reporting else { return false }
                    reportChild(
                        nodes[nodeIndex], keyword: "unevaluatedItems", token: String(position), position: position,
                        message: "this item is not allowed here (too many items)")
                } else if evaluateChild(child, element, memberKey: nil, position: position, keyword: "unevaluatedItems") {
                    evaluated?.insert(position)
                } else {
                    valid = false
                    if !reporting { return false }
                }
            }
            return valid

        case .unevaluatedProperties(let child):
            guard case .object(let object) = instance else { return true }
            var valid = true
            for (position, member) in object.members.enumerated() where evaluated?.contains(position) != true {
                if isFalse(child) {
                    valid = false
                    guard reporting else { return false }
                    reportChild(
                        nodes[nodeIndex], keyword: "unevaluatedProperties", token: member.key, position: position,
                        message: "\(Self.quote(member.key)) is not an allowed field here")
                } else if evaluateChild(
                    child, member.value, memberKey: member.key, position: position, keyword: "unevaluatedProperties") {
                    evaluated?.insert(position)
                } else {
                    valid = false
                    if !reporting { return false }
                }
            }
            return valid
        }
    }

    func isFalse(_ index: Int) -> Bool {
        if case .boolean(false) = nodes[index].body { return true }
        return false
    }

    // MARK: - Objects and arrays

    private mutating func evaluateMembers(
        _ members: ObjectMembers, of nodeIndex: Int, _ object: JSONObject, _ evaluated: inout EvaluatedSet?
    ) -> Bool {
        // Members are borrowed from the buffer rather than copied (a copy retains key and value).
        object.members.withUnsafeBufferPointer { buffer in
            evaluateMembers(members, of: nodeIndex, buffer, &evaluated)
        }
    }

    private mutating func evaluateMembers(
        _ members: ObjectMembers, of nodeIndex: Int, _ buffer: UnsafeBufferPointer<JSONObject.Member>,
        _ evaluated: inout EvaluatedSet?
    ) -> Bool {
        var valid = true
        for position in buffer.indices {
            let member = buffer[position]
            var matched = false
            if let property = members.property(named: member.key) {
                matched = true
                if !evaluateChild(
                    property, member.value, memberKey: member.key, position: position, keyword: "properties",
                    detail: member.key) {
                    valid = false
                    if !reporting { return false }
                }
            }
            for pattern in members.patterns {
                switch pattern.regex.search(in: member.key, budget: schema.maxRegexSteps) {
                case .notMatched:
                    continue
                case .tooExpensive:
                    valid = false
                    guard reporting else { return false }
                    reportChild(
                        nodes[nodeIndex], keyword: "patternProperties", suffix: [pattern.regex.source], token: member.key,
                        position: position,
                        message: "the pattern \(pattern.regex.source) is too expensive to evaluate on this field name")
                case .matched:
                    matched = true
                    if !evaluateChild(
                        pattern.node, member.value, memberKey: member.key, position: position,
                        keyword: "patternProperties", detail: pattern.regex.source)
                    {
                        valid = false
                        if !reporting { return false }
                    }
                }
            }
            if !matched, let additional = members.additional {
                matched = true
                if isFalse(additional) {
                    valid = false
                    guard reporting else { return false }
                    reportChild(
                        nodes[nodeIndex], keyword: "additionalProperties", token: member.key, position: position,
                        message: "\(Self.quote(member.key)) is not an allowed field here")
                } else if !evaluateChild(
                    additional, member.value, memberKey: member.key, position: position, keyword: "additionalProperties")
                {
                    valid = false
                    if !reporting { return false }
                }
            }
            if matched { evaluated?.insert(position) }
        }
        return valid
    }

    private mutating func evaluateItems(
        _ items: ArrayItems, of nodeIndex: Int, _ elements: [JSONValue], _ evaluated: inout EvaluatedSet?
    ) -> Bool {
        var valid = true
        for (position, element) in elements.enumerated() {
            if position < items.prefix.count {
                if !evaluateChild(
                    items.prefix[position], element, memberKey: nil, position: position, keyword: "prefixItems",
                    detailIndex: position)
                {
                    valid = false
                    if !reporting { return false }
                }
            } else if let rest = items.items {
                if isFalse(rest) {
                    valid = false
                    guard reporting else { return false }
                    reportChild(
                        nodes[nodeIndex], keyword: "items", token: String(position), position: position,
                        message: "this item is not allowed here (at most \(items.prefix.count) items)")
                } else if !evaluateChild(rest, element, memberKey: nil, position: position, keyword: "items") {
                    valid = false
                    if !reporting { return false }
                }
            } else {
                break
            }
        }
        evaluated?.insertAll(below: items.items != nil ? elements.count : min(items.prefix.count, elements.count))
        return valid
    }

    static func firstDuplicate(_ elements: [JSONValue]) -> (Int, Int)? {
        if elements.count < 2 { return nil }
        if elements.count <= 16 {
            for i in 0..<elements.count {
                for j in (i + 1)..<elements.count where elements[i] == elements[j] { return (i, j) }
            }
            return nil
        }
        var seen: [JSONValue: Int] = [:]
        for (position, element) in elements.enumerated() {
            if let earlier = seen[element] { return (earlier, position) }
            seen[element] = position
        }
        return nil
    }
}
