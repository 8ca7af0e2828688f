import JSONSchema

/// Which fields one destination (or every destination of a partner type) may receive. Everything
/// not allowed is removed before sending: the policy is an allow-list, and a destination without
/// one is a configuration error, never "send everything".
public struct FieldPolicy: Sendable {
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        case destination(String)
        case partnerType(PartnerType)

        public var description: String {
            switch self {
            case .destination(let id): "destination \(id)"
            case .partnerType(let type): "partner type \(type.rawValue)"
            }
        }
    }

    public var target: Target
    public var allow: [FieldPath]
    /// Strings cut to at most this many characters (e.g. a 500-character summary for health).
    public var truncate: [(path: FieldPath, characters: Int)]
    /// Arrays keep only these values (e.g. the categories relevant to health).
    public var keepValues: [(path: FieldPath, values: [JSONValue])]
    /// Array values mapped to others, unmapped ones dropped, duplicates removed (e.g. category groups).
    public var mapValues: [(path: FieldPath, mapping: [(from: JSONValue, to: JSONValue)])]
    /// Arrays keep only the elements for which the condition (read relative to the element) holds,
    /// e.g. household members with parental responsibility.
    public var keepElements: [(path: FieldPath, condition: Condition)]
    /// A field of the referral listing JSON pointers that this destination must not receive
    /// (e.g. `consent.confidentialFromFamily` for partners who work with the family).
    public var withholdListedIn: FieldPath?

    private var allowTree: AllowNode

    public init(target: Target, allow: [FieldPath], truncate: [(path: FieldPath, characters: Int)] = [],
                keepValues: [(path: FieldPath, values: [JSONValue])] = [],
                mapValues: [(path: FieldPath, mapping: [(from: JSONValue, to: JSONValue)])] = [],
                keepElements: [(path: FieldPath, condition: Condition)] = [], withholdListedIn: FieldPath? = nil) {
        self.target = target
        self.allow = allow
        self.truncate = truncate
        self.keepValues = keepValues
        self.mapValues = mapValues
        self.keepElements = keepElements
        self.withholdListedIn = withholdListedIn
        var tree = AllowNode()
        for path in allow { tree.insert(path.components[...]) }
        for (path, condition) in keepElements { tree.setFilter(condition, at: path.components[...]) }
        self.allowTree = tree
    }

    /// The referral as this policy lets it be sent, with the pointers removed or altered.
    public func project(_ referral: JSONValue) -> Projection {
        var withheld: [JSONPointer] = []
        var sent: [JSONPointer] = []
        // Pointers the referral itself lists as not to be shared (e.g. confidential from the family),
        // blocked while walking the source, so indices always mean the referral's own.
        var blocked: Set<JSONPointer> = []
        if let listPath = withholdListedIn {
            for text in listPath.values(in: referral).flatMap({ $0.arrayValue ?? [$0] }).compactMap(\.stringValue) {
                if let pointer = try? JSONPointer(parsing: text), !pointer.tokens.isEmpty { blocked.insert(pointer) }
            }
        }
        var value = Self.project(referral, node: allowTree, whole: false, pointer: .root, blocked: blocked,
                                 withheld: &withheld, sent: &sent) ?? .object(JSONObject())
        var altered: [JSONPointer] = []
        for (path, limit) in truncate {
            Self.transform(&value, path.components[...], pointer: .root) { node, pointer in
                guard let text = node.stringValue, text.count > limit else { return }
                node = .string(String(text.prefix(limit)))
                altered.append(pointer)
            }
        }
        for (path, allowed) in keepValues {
            Self.transform(&value, path.components[...], pointer: .root) { node, pointer in
                guard let elements = node.arrayValue else { return }
                for (index, element) in elements.enumerated() where !allowed.contains(element) {
                    withheld.append(pointer.appending(index: index))
                }
                node = .array(elements.filter(allowed.contains))
            }
        }
        for (path, mapping) in mapValues {
            Self.transform(&value, path.components[...], pointer: .root) { node, pointer in
                guard let elements = node.arrayValue else { return }
                var mapped: [JSONValue] = []
                for element in elements {
                    guard let target = mapping.first(where: { $0.from == element })?.to else { continue }
                    if !mapped.contains(target) { mapped.append(target) }
                }
                node = .array(mapped)
                altered.append(pointer)
            }
        }
        return Projection(value: value, sent: sent, withheld: withheld, altered: altered)
    }

    /// Keeps allowed subtrees. `sent` gets the pointer of each kept subtree, `withheld` of each removed
    /// one. Element filters and blocked pointers apply inside whole-allowed subtrees too.
    private static func project(_ value: JSONValue, node: AllowNode, whole inherited: Bool, pointer: JSONPointer,
                                blocked: Set<JSONPointer>, withheld: inout [JSONPointer], sent: inout [JSONPointer]) -> JSONValue? {
        if blocked.contains(pointer) {
            withheld.append(pointer)
            return nil
        }
        let whole = inherited || node.whole
        if whole, !node.hasFilters, !blocked.contains(where: { $0.hasPrefix(pointer) && $0 != pointer }) {
            if !inherited { sent.append(pointer) }
            return value
        }
        switch value {
        case .object(let object):
            var kept = JSONObject()
            for (key, member) in object {
                let memberPointer = pointer.appending(key)
                let child = node.keys[key]
                guard whole || child != nil else {
                    withheld.append(memberPointer)
                    continue
                }
                if let projected = project(member, node: child ?? AllowNode(), whole: whole, pointer: memberPointer,
                                           blocked: blocked, withheld: &withheld, sent: &sent) {
                    kept[key] = projected
                }
            }
            if whole, !inherited { sent.append(pointer) }
            return kept.isEmpty && !whole ? nil : .object(kept)
        case .array(let elements):
            let elementNode = node.element.first
            guard whole || elementNode != nil else {
                withheld.append(pointer)
                return nil
            }
            var kept: [JSONValue] = []
            for (index, element) in elements.enumerated() {
                let elementPointer = pointer.appending(index: index)
                // Pointers keep the referral's own indices, so the audit describes the source.
                if let filter = node.filter,
                   !filter.holds(in: ConditionContext(referral: element, matchedRules: [], orderings: [:])) {
                    withheld.append(elementPointer)
                    continue
                }
                if let projected = project(element, node: elementNode ?? AllowNode(), whole: whole, pointer: elementPointer,
                                           blocked: blocked, withheld: &withheld, sent: &sent) {
                    kept.append(projected)
                }
            }
            if whole, !inherited { sent.append(pointer) }
            return kept.isEmpty && !whole ? nil : .array(kept)
        default:
            if whole {
                if !inherited { sent.append(pointer) }
                return value
            }
            withheld.append(pointer)
            return nil
        }
    }

    /// Applies `body` to every value at the path.
    private static func transform(_ value: inout JSONValue, _ components: ArraySlice<FieldPath.Component>, pointer: JSONPointer,
                                  _ body: (inout JSONValue, JSONPointer) -> Void) {
        guard let first = components.first else {
            body(&value, pointer)
            return
        }
        let rest = components.dropFirst()
        switch (first, value) {
        case (.key(let name), .object(var object)):
            guard var member = object[name] else { return }
            transform(&member, rest, pointer: pointer.appending(name), body)
            object[name] = member
            value = .object(object)
        case (.anyElement, .array(var elements)):
            for index in elements.indices {
                transform(&elements[index], rest, pointer: pointer.appending(index: index), body)
            }
            value = .array(elements)
        default:
            return
        }
    }
}

/// The outcome of applying a field policy.
public struct Projection: Sendable {
    public var value: JSONValue
    /// Pointers of the subtrees kept (paths only, never values): what was shared.
    public var sent: [JSONPointer]
    /// Pointers of what was removed.
    public var withheld: [JSONPointer]
    /// Pointers of values shortened or mapped.
    public var altered: [JSONPointer]
}

/// A trie of allowed paths.
private struct AllowNode: Sendable {
    var whole = false
    var keys: [String: AllowNode] = [:]
    /// At most one node for `[*]`; an array keeps the recursion finite without an indirect box.
    var element: [AllowNode] = []
    /// For an array at this node: which elements may be sent at all.
    var filter: Condition?

    /// Whether this node or any below it filters elements (a whole-allowed subtree must still be walked).
    var hasFilters = false

    mutating func setFilter(_ condition: Condition, at components: ArraySlice<FieldPath.Component>) {
        hasFilters = true
        guard let first = components.first else {
            filter = condition
            return
        }
        switch first {
        case .key(let name):
            keys[name, default: AllowNode()].setFilter(condition, at: components.dropFirst())
        case .anyElement:
            if element.isEmpty { element.append(AllowNode()) }
            element[0].setFilter(condition, at: components.dropFirst())
        }
    }

    mutating func insert(_ components: ArraySlice<FieldPath.Component>) {
        guard let first = components.first else {
            whole = true
            return
        }
        switch first {
        case .key(let name):
            keys[name, default: AllowNode()].insert(components.dropFirst())
        case .anyElement:
            if element.isEmpty { element.append(AllowNode()) }
            element[0].insert(components.dropFirst())
        }
    }
}
