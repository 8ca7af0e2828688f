/// A secret value (key passphrase, bearer token). Never printed: `description`,
/// `debugDescription` and reflection (`dump`, `Mirror`) all show "<redacted>".
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init(_ string: String) {
        self.bytes = Array(string.utf8)
    }

    /// Lends the secret as text (invalid UTF-8 is repaired with U+FFFD).
    public func withString<R>(_ body: (String) throws -> R) rethrows -> R {
        try body(String(decoding: bytes, as: UTF8.self))
    }

    /// Lends the secret's bytes.
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer(body)
    }

    public var isEmpty: Bool { bytes.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Compares in time that depends only on the lengths, not on where the bytes differ.
    public static func == (lhs: Secret, rhs: Secret) -> Bool {
        guard lhs.bytes.count == rhs.bytes.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.bytes.indices {
            difference |= lhs.bytes[index] ^ rhs.bytes[index]
        }
        return difference == 0
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes)
    }
}
