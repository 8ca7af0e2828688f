/// An RFC 6901 JSON Pointer.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var tokens: [String]

    public init(tokens: [String]) {
        self.tokens = tokens
    }

    /// "" is the root; anything else must start with "/". `~0` is "~" and `~1` is "/".
    public init(parsing text: String) throws(JSONPointerError) {
        if text.isEmpty {
            tokens = []
            return
        }
        guard text.utf8.first == UInt8(ascii: "/") else {
            throw JSONPointerError(description: "a JSON pointer must be empty or start with \"/\"")
        }
        var tokens: [String] = []
        var current: [UInt8] = []
        var iterator = text.utf8.dropFirst().makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "/"):
                tokens.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            case UInt8(ascii: "~"):
                switch iterator.next() {
                case UInt8(ascii: "0"): current.append(UInt8(ascii: "~"))
                case UInt8(ascii: "1"): current.append(UInt8(ascii: "/"))
                default: throw JSONPointerError(description: "\"~\" in a JSON pointer must be followed by 0 or 1")
                }
            default:
                current.append(byte)
            }
        }
        tokens.append(String(decoding: current, as: UTF8.self))
        self.tokens = tokens
    }

    /// A literal pointer is written by a programmer, so a malformed one is a programmer error.
    public init(stringLiteral value: String) {
        do {
            try self.init(parsing: value)
        } catch {
            preconditionFailure("invalid JSON pointer literal: \(error.description)")
        }
    }

    public static let root = JSONPointer(tokens: [])

    public var isRoot: Bool { tokens.isEmpty }

    public func appending(_ token: String) -> JSONPointer {
        var copy = self
        copy.tokens.append(token)
        return copy
    }

    public func appending(index: Int) -> JSONPointer {
        appending(String(index))
    }

    /// The pointer without its last token (the root stays the root).
    public var parent: JSONPointer {
        JSONPointer(tokens: Array(tokens.dropLast()))
    }

    /// Whether `self` is `other` or lies under it.
    public func hasPrefix(_ other: JSONPointer) -> Bool {
        tokens.starts(with: other.tokens)
    }

    /// "/a/b~1c"; "" for the root.
    public var description: String {
        var text = ""
        for token in tokens {
            text.append("/")
            text.append(Self.escape(token))
        }
        return text
    }

    /// "child.nhsNumber", "household[0].givenName", "(root)" for the root: for messages.
    /// Tokens that look like array indexes are shown as `[n]`; keys that are not simple
    /// identifiers are shown as `["key"]`.
    public var dottedPath: String {
        guard !tokens.isEmpty else { return "(root)" }
        var text = ""
        for token in tokens {
            if Self.arrayIndex(token) != nil {
                text += "[\(token)]"
            } else if Self.isSimpleName(token) {
                if !text.isEmpty { text += "." }
                text += token
            } else {
                text += "[\""
                for scalar in token.unicodeScalars {
                    if scalar == "\\" || scalar == "\"" { text += "\\" }
                    text.unicodeScalars.append(scalar)
                }
                text += "\"]"
            }
        }
        return text
    }

    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        var escaped = ""
        for character in token.unicodeScalars {
            switch character {
            case "~": escaped += "~0"
            case "/": escaped += "~1"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// The array index a token denotes: decimal digits without leading zeros ("0" is fine).
    static func arrayIndex(_ token: String) -> Int? {
        let utf8 = token.utf8
        guard let first = utf8.first, utf8.count <= 18 else { return nil }
        if first == UInt8(ascii: "0") { return utf8.count == 1 ? 0 : nil }
        var value = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func isSimpleName(_ token: String) -> Bool {
        guard let first = token.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else { return false }
        return token.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "$")
        }
    }
}
