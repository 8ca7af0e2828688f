/// Why a document is not acceptable JSON, and where.
///
/// Messages never quote document content, except a duplicate key's name.
public struct JSONParseError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Stable codes, used in reports.
    public enum Code: String, Sendable {
        case empty, byteOrderMark, invalidUTF8, unexpectedCharacter, unexpectedEnd, trailingContent,
            invalidNumber, numberOutOfRange, nonFiniteLiteral, invalidEscape, invalidUnicodeEscape,
            controlCharacterInString, duplicateKey, tooDeep, tooLarge, stringTooLong, tooManyMembers
    }

    public var code: Code
    /// Plain English for the agency's developer.
    public var message: String
    public var location: SourceLocation
    public var byteOffset: Int

    public init(code: Code, message: String, location: SourceLocation, byteOffset: Int) {
        self.code = code
        self.message = message
        self.location = location
        self.byteOffset = byteOffset
    }

    /// "12:5: <message>".
    public var description: String { "\(location): \(message)" }
}
