extension Evaluator {
    // MARK: - Rules (if/then/else)

    /// Evaluates `then`/`else`. When reporting, the branch's errors say which condition made
    /// them apply ("… is required when status is refused"), or the schema's `errorMessage`
    /// replaces them.
    mutating func evaluateRule(
        _ branch: Int, _ nodeIndex: Int, condition: Int?, _ instance: JSONValue, _ evaluated: inout EvaluatedSet?,
        branch name: String
    ) -> Bool {
        let mark = errors.count
        let valid = evaluateInPlace(branch, instance, &evaluated, keyword: name)
        guard reporting, !valid else { return valid }
        if let custom = nodes[nodeIndex].errorMessage {
            errors.removeSubrange(mark...)
            report(nodes[nodeIndex], keyword: name, message: custom)
        } else if let condition, let summary = conditionSummary(condition, instance, depth: 0) {
            for index in mark..<errors.count {
                errors[index].error.message += " when " + summary
            }
        }
        return valid
    }

    /// "status is refused", "referralType is early-help and concern.significantHarmSuspected is
    /// false": the properties an `if` schema tests by `const`/`enum`, with the instance's values.
    private func conditionSummary(_ index: Int, _ instance: JSONValue, depth: Int, prefix: String = "") -> String? {
        guard depth < 4, case .keywords(let keywords) = nodes[index].body, case .object(let object) = instance else {
            return nil
        }
        var clauses: [String] = []
        for keyword in keywords {
            guard case .objectMembers(let members) = keyword else { continue }
            for property in members.properties {
                guard let value = object[property.name] else { continue }
                let path = prefix + property.name
                if testsValue(property.node) {
                    clauses.append("\(path) is \(Self.describe(value, quoteStrings: false))")
                } else if let nested = conditionSummary(property.node, value, depth: depth + 1, prefix: path + ".") {
                    clauses.append(nested)
                }
            }
        }
        return clauses.isEmpty ? nil : clauses.joined(separator: " and ")
    }

    private func testsValue(_ index: Int) -> Bool {
        guard case .keywords(let keywords) = nodes[index].body else { return false }
        return keywords.contains { keyword in
            switch keyword {
            case .const, .enumeration: return true
            case .not(let inner): return testsValue(inner)
            default: return false
            }
        }
    }

    // MARK: - anyOf / oneOf

    mutating func reportAlternatives(
        _ nodeIndex: Int, keyword: String, _ children: [Int], _ instance: JSONValue, matches: [Int]
    ) {
        let node = nodes[nodeIndex]
        let requiredSets = children.map(requiredOnly)
        if matches.count > 1 {
            if requiredSets.allSatisfy({ $0 != nil }) {
                let names = matches.compactMap { requiredSets[$0] }.flatMap { $0 }
                report(node, keyword: keyword, message: "only one of \(Self.list(names.map(JSONValue.string))) may be given")
            } else {
                let numbers = matches.map { String($0 + 1) }.joined(separator: ", ")
                report(
                    node, keyword: keyword,
                    message: "matches more than one of the allowed alternatives (\(numbers)) but must match exactly one")
            }
            return
        }
        if requiredSets.allSatisfy({ $0 != nil }) {
            let names = requiredSets.compactMap { $0 }.flatMap { $0 }
            let quantity = keyword == "oneOf" ? "exactly one" : "at least one"
            report(node, keyword: keyword, message: "\(quantity) of \(Self.list(names.map(JSONValue.string))) is required")
            return
        }
        // Explain with the closest branch: one whose errors are not about the value's own type.
        var best: [PendingError]?
        for (position, child) in children.enumerated() {
            let produced = branchErrors(child, instance, keyword: keyword, detailIndex: position)
            let wrongShape = produced.contains { pending in
                pending.order == instancePositions
                    && ["type", "const", "enum", "false"].contains(pending.error.keyword)
            }
            if wrongShape || produced.isEmpty { continue }
            if best == nil || produced.count < best?.count ?? 0 { best = produced }
        }
        let expected = keyword == "oneOf" ? "exactly one" : "any"
        report(node, keyword: keyword, message: "does not match \(expected) of the \(children.count) allowed alternatives")
        if let best { errors.append(contentsOf: best) }
    }

    /// The names a branch requires when `required` is all it says.
    private func requiredOnly(_ index: Int) -> [String]? {
        guard case .keywords(let keywords) = nodes[index].body, keywords.count == 1,
            case .required(let names) = keywords[0]
        else { return nil }
        return names
    }

    static func notMessage(_ node: SchemaNode) -> String {
        if let description = node.description { return "must not match: \(description)" }
        if case .keywords(let keywords) = node.body, keywords.count == 1, case .required(let names) = keywords[0] {
            return "\(list(names.map(JSONValue.string))) must not be given"
        }
        return "matches a schema it must not match"
    }

    // MARK: - Describing values

    /// A short, safe rendering of a value for messages: strings quoted and cut to 40 characters,
    /// containers only named.
    static func describe(_ value: JSONValue, quoteLimit: Int = 40, quoteStrings: Bool = true) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return number.literal
        case .string(let text): return quoteStrings ? quote(text, limit: quoteLimit) : clipped(text, limit: quoteLimit)
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// `"text"`, cut to `limit` characters, with quotes and control characters escaped.
    static func quote(_ text: String, limit: Int = 40) -> String {
        "\"" + clipped(text, limit: limit) + "\""
    }

    private static func clipped(_ text: String, limit: Int) -> String {
        var result = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                result += "…"
                break
            }
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || (0x7F..<0xA0).contains(scalar.value) {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
            count += 1
        }
        return result
    }

    /// "immediate, urgent, routine" (enum values, strings unquoted), cut after 12 entries.
    static func list(_ values: [JSONValue]) -> String {
        var parts = values.prefix(12).map { describe($0, quoteStrings: false) }
        if values.count > 12 { parts.append("… (\(values.count) values)") }
        return parts.joined(separator: ", ")
    }

    /// What kind of value this is, for type errors.
    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return "a boolean (\(flag))"
        case .number(let number): return "a number (\(number.literal))"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// "a string", "an integer", "null", "an integer or null".
    static func article(_ types: String) -> String {
        if types.hasPrefix("null") { return types }
        if let first = types.first, "aeiou".contains(first) { return "an " + types }
        return "a " + types
    }
}
