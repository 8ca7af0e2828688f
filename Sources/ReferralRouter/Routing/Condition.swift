import JSONSchema

/// When a rule holds. Conditions read referral fields only; `matched` reads the rules that held
/// before this one in precedence order.
public indirect enum Condition: Sendable, Hashable {
    case always
    /// The field (any value at the path, across arrays) equals the value.
    case equals(FieldPath, JSONValue)
    /// The field's value is one of these.
    case oneOf(FieldPath, [JSONValue])
    /// The field is an array sharing at least one element with these (e.g. concern categories).
    case anyOf(FieldPath, [JSONValue])
    case exists(FieldPath, Bool)
    /// Dates (`YYYY-MM-DD` or RFC 3339) or ranked values compared; see `Comparison`.
    case compare(FieldPath, Comparison, JSONValue)
    case all([Condition])
    case any([Condition])
    case not(Condition)
    /// A rule earlier in precedence held.
    case matched(String)

    public enum Comparison: String, Sendable, Hashable {
        case before, after, atLeast = "at_least", atMost = "at_most"
    }

    /// Fields the condition reads, for config checks against the schema.
    var fields: [FieldPath] {
        switch self {
        case .always, .matched: []
        case .equals(let path, _), .oneOf(let path, _), .anyOf(let path, _), .exists(let path, _), .compare(let path, _, _): [path]
        case .all(let conditions), .any(let conditions): conditions.flatMap(\.fields)
        case .not(let condition): condition.fields
        }
    }

    /// Whether the condition can hold only if `rule` held (it requires `matched rule` on every path).
    func requiresMatch(of rule: String) -> Bool {
        switch self {
        case .matched(let name): name == rule
        case .all(let conditions): conditions.contains { $0.requiresMatch(of: rule) }
        case .any(let conditions): !conditions.isEmpty && conditions.allSatisfy { $0.requiresMatch(of: rule) }
        default: false
        }
    }

    /// Rule names the condition refers to.
    var referencedRules: [String] {
        switch self {
        case .matched(let name): [name]
        case .all(let conditions), .any(let conditions): conditions.flatMap(\.referencedRules)
        case .not(let condition): condition.referencedRules
        default: []
        }
    }
}

/// What a condition is evaluated against.
struct ConditionContext {
    var referral: JSONValue
    var matchedRules: Set<String>
    /// Ranked scales, e.g. `urgency.level`: routine < urgent < immediate.
    var orderings: [FieldPath: [String]]
}

extension Condition {
    func holds(in context: ConditionContext) -> Bool {
        explain(in: context) == nil
    }

    /// nil when the condition holds; otherwise a short reason it does not, for `route` dry runs.
    /// Reasons show categorical field values only as the administrator's own condition needs them.
    func explain(in context: ConditionContext) -> String? {
        switch self {
        case .always:
            return nil
        case .equals(let path, let expected):
            let values = path.values(in: context.referral)
            if values.contains(expected) { return nil }
            return "\(path) is \(Self.show(values)), not \(Self.show([expected]))"
        case .oneOf(let path, let allowed):
            let values = path.values(in: context.referral)
            if values.contains(where: allowed.contains) { return nil }
            return "\(path) is \(Self.show(values)), not one of \(Self.show(allowed))"
        case .anyOf(let path, let wanted):
            let elements = path.values(in: context.referral).flatMap { $0.arrayValue ?? [$0] }
            if elements.contains(where: wanted.contains) { return nil }
            return "\(path) contains none of \(Self.show(wanted))"
        case .exists(let path, let shouldExist):
            let exists = path.values(in: context.referral).contains { !$0.isNull }
            if exists == shouldExist { return nil }
            return shouldExist ? "\(path) is absent" : "\(path) is present"
        case .compare(let path, let comparison, let bound):
            let values = path.values(in: context.referral)
            if values.contains(where: { Self.compare($0, comparison, bound, ordering: context.orderings[path]) }) { return nil }
            return "\(path) is \(Self.show(values)), not \(comparison.rawValue.replacingOccurrences(of: "_", with: " ")) \(Self.show([bound]))"
        case .all(let conditions):
            for condition in conditions {
                if let reason = condition.explain(in: context) { return reason }
            }
            return nil
        case .any(let conditions):
            var reasons: [String] = []
            for condition in conditions {
                guard let reason = condition.explain(in: context) else { return nil }
                reasons.append(reason)
            }
            return "none held: " + reasons.joined(separator: "; ")
        case .not(let condition):
            return condition.explain(in: context) == nil ? "not (\(condition.summary)) failed" : nil
        case .matched(let rule):
            return context.matchedRules.contains(rule) ? nil : "rule \(rule) did not hold"
        }
    }

    /// A one-line rendering of the condition itself.
    var summary: String {
        switch self {
        case .always: "always"
        case .equals(let path, let value): "\(path) = \(Self.show([value]))"
        case .oneOf(let path, let values): "\(path) in \(Self.show(values))"
        case .anyOf(let path, let values): "\(path) has any of \(Self.show(values))"
        case .exists(let path, let flag): flag ? "\(path) exists" : "\(path) absent"
        case .compare(let path, let comparison, let value): "\(path) \(comparison.rawValue) \(Self.show([value]))"
        case .all(let conditions): "all(" + conditions.map(\.summary).joined(separator: ", ") + ")"
        case .any(let conditions): "any(" + conditions.map(\.summary).joined(separator: ", ") + ")"
        case .not(let condition): "not \(condition.summary)"
        case .matched(let rule): "matched \(rule)"
        }
    }

    private static func show(_ values: [JSONValue]) -> String {
        if values.isEmpty { return "absent" }
        let shown = values.prefix(8).map { value -> String in
            let text = value.jsonText()
            return text.count > 40 ? String(text.prefix(37)) + "..." : text
        }
        return values.count == 1 ? shown[0] : "[" + shown.joined(separator: ", ") + (values.count > 8 ? ", ..." : "") + "]"
    }

    private static func compare(_ value: JSONValue, _ comparison: Comparison, _ bound: JSONValue, ordering: [String]?) -> Bool {
        switch comparison {
        case .before, .after:
            guard let left = value.stringValue.flatMap(Self.dateKey), let right = bound.stringValue.flatMap(Self.dateKey) else { return false }
            return comparison == .before ? left < right : left > right
        case .atLeast, .atMost:
            if let ordering, let left = value.stringValue.flatMap(ordering.firstIndex(of:)),
               let right = bound.stringValue.flatMap(ordering.firstIndex(of:)) {
                return comparison == .atLeast ? left >= right : left <= right
            }
            if let left = value.numberValue?.doubleValue, let right = bound.numberValue?.doubleValue {
                return comparison == .atLeast ? left >= right : left <= right
            }
            return false
        }
    }

    /// `YYYY-MM-DD` prefix of a date or date-time: comparable as text.
    private static func dateKey(_ text: String) -> String? {
        let scalars = Array(text.unicodeScalars.prefix(10))
        guard scalars.count == 10, scalars[4] == "-", scalars[7] == "-" else { return nil }
        for index in [0, 1, 2, 3, 5, 6, 8, 9] where !("0"..."9").contains(scalars[index]) { return nil }
        return String(String.UnicodeScalarView(scalars))
    }
}
