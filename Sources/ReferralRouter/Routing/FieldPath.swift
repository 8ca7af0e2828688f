import JSONSchema

/// A path into a referral as administrators write it: `child.nhsNumber`, `household[*].givenName`,
/// or a JSON pointer `/child/nhsNumber` (a `*` token means every array element). `*` alone means
/// the whole referral.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case anyElement
    }
    public var components: [Component]

    public static let whole = FieldPath(components: [])

    public init(components: [Component]) {
        self.components = components
    }

    /// Parses either notation; nil with a reason when malformed.
    public static func parse(_ text: String) -> Result<FieldPath, FieldPathError> {
        if text == "*" { return .success(.whole) }
        if text.isEmpty { return .failure(FieldPathError(text: text, reason: "is empty")) }
        if text.hasPrefix("/") {
            guard let pointer = try? JSONPointer(parsing: text) else {
                return .failure(FieldPathError(text: text, reason: "is not a valid JSON pointer"))
            }
            return .success(FieldPath(components: pointer.tokens.map { $0 == "*" ? .anyElement : .key($0) }))
        }
        var components: [Component] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            var name = Substring(part)
            var wildcards = 0
            while name.hasSuffix("[*]") {
                name = name.dropLast(3)
                wildcards += 1
            }
            guard !name.isEmpty, !name.contains("["), !name.contains("]") else {
                return .failure(FieldPathError(text: text, reason: "has an empty or malformed part \"\(part)\" (use name or name[*])"))
            }
            components.append(.key(String(name)))
            components.append(contentsOf: repeatElement(.anyElement, count: wildcards))
        }
        return .success(FieldPath(components: components))
    }

    /// Tokens for `Schema.lookup(path:)`: property names, `*` for any element.
    var schemaTokens: [String] {
        components.map {
            switch $0 {
            case .key(let name): name
            case .anyElement: "*"
            }
        }
    }

    public var description: String {
        if components.isEmpty { return "*" }
        var text = ""
        for component in components {
            switch component {
            case .key(let name): text += text.isEmpty ? name : ".\(name)"
            case .anyElement: text += "[*]"
            }
        }
        return text
    }

    /// Every value at this path in `value` (several when the path crosses arrays).
    func values(in value: JSONValue) -> [JSONValue] {
        var current = [value]
        for component in components {
            var next: [JSONValue] = []
            for node in current {
                switch component {
                case .key(let name):
                    if let child = node[name] { next.append(child) }
                case .anyElement:
                    if let elements = node.arrayValue { next.append(contentsOf: elements) }
                }
            }
            current = next
            if current.isEmpty { break }
        }
        return current
    }
}

public struct FieldPathError: Error, Sendable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "field path \"\(text)\" \(reason)" }
}
