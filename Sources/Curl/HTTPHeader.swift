/// One HTTP header. A sensitive header's value (Authorization, tokens) is never printed.
public struct HTTPHeader: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var name: String
    public var value: String
    /// Authorization and the like: `description` and reflection show "<redacted>" for the value.
    public var isSensitive: Bool

    public init(_ name: String, _ value: String, isSensitive: Bool = false) {
        self.name = name
        self.value = value
        self.isSensitive = isSensitive
    }

    public var description: String { "\(name): \(isSensitive ? "<redacted>" : value)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "value": isSensitive ? "<redacted>" : value, "isSensitive": isSensitive])
    }

    /// `name` equals `lowercaseName` (lower-case ASCII) ignoring ASCII case, as header names compare.
    static func name(_ name: String, equalsLowercased lowercaseName: String) -> Bool {
        name.utf8.count == lowercaseName.utf8.count
            && zip(name.utf8, lowercaseName.utf8).allSatisfy { byte, lower in
                (byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) == lower
            }
    }

    /// Names are tokens; values are visible ASCII, space, tab or UTF-8 (no CR, LF or NUL),
    /// so a header can never split into two.
    var isWellFormed: Bool {
        guard !name.isEmpty, name.utf8.count <= 256, value.utf8.count <= 16 * 1024 else { return false }
        let tokenCharacters = Set("!#$%&'*+-.^_`|~".utf8)
        for byte in name.utf8 {
            let isAlphanumeric = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            guard isAlphanumeric || tokenCharacters.contains(byte) else { return false }
        }
        for byte in value.utf8 where byte == 0x0D || byte == 0x0A || byte == 0x00 {
            return false
        }
        return true
    }
}
