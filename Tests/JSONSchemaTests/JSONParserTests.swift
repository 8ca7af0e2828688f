import Testing

@testable import JSONSchema

@Suite("JSON parser")
struct JSONParserTests {
    private func parse(_ text: String, options: JSONParseOptions = .init()) throws(JSONParseError) -> JSONValue {
        try JSONDocument(parsing: Array(text.utf8), options: options).root
    }

    private func parseError(_ bytes: [UInt8], options: JSONParseOptions = .init()) -> JSONParseError? {
        do {
            _ = try JSONDocument(parsing: bytes, options: options)
            return nil
        } catch {
            return error
        }
    }

    private func parseError(_ text: String, options: JSONParseOptions = .init()) -> JSONParseError? {
        parseError(Array(text.utf8), options: options)
    }

    @Test func parsesAllValueKinds() throws {
        let value = try parse(#"{"a": [1, -2.5, 1e3, true, false, null, "x"], "b": {}}"#)
        #expect(value["a"]?[0] == 1)
        #expect(value["a"]?[1]?.numberValue?.literal == "-2.5")
        #expect(value["a"]?[2]?.numberValue?.literal == "1e3")
        #expect(value["a"]?[2]?.typeName == "integer")
        #expect(value["a"]?[3] == true)
        #expect(value["a"]?[4] == false)
        #expect(value["a"]?[5]?.isNull == true)
        #expect(value["a"]?[6] == "x")
        #expect(value["b"]?.objectValue?.isEmpty == true)
        #expect(value["a"]?[7] == nil)
        #expect(value["missing"] == nil)
    }

    @Test func keepsMemberOrder() throws {
        let value = try parse(#"{"z": 1, "a": 2, "m": 3}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
    }

    @Test func largeObjectsUseTheirIndexCorrectly() throws {
        let members = (0..<50).map { "\"k\($0)\": \($0)" }.joined(separator: ",")
        let value = try parse("{\(members)}")
        #expect(value["k0"] == 0)
        #expect(value["k49"] == 49)
        #expect(value["k50"] == nil)
        #expect(value.objectValue?.count == 50)
    }

    @Test func bigIntegersKeepTheirLiteral() throws {
        let value = try parse("[123456789012345678901234567890, -9223372036854775809, 9223372036854775807]")
        #expect(value[0]?.numberValue?.literal == "123456789012345678901234567890")
        #expect(value[0]?.numberValue?.isInteger == true)
        #expect(value[0]?.numberValue?.intValue == nil)
        #expect(value[1]?.numberValue?.literal == "-9223372036854775809")
        #expect(value[2]?.numberValue?.intValue == Int.max)
        #expect(value.jsonText() == "[123456789012345678901234567890,-9223372036854775809,9223372036854775807]")
    }

    @Test func negativeZeroKeepsItsLiteral() throws {
        let value = try parse("-0")
        #expect(value.numberValue?.literal == "-0")
        #expect(value == 0)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\u{8}\u{c}\n\r\té😀"))
        let raw = try parse("\"é😀 raw\"")
        #expect(raw == .string("é😀 raw"))
    }

    @Test(arguments: [
        ("", JSONParseError.Code.empty, 1, 1),
        ("  \n\t ", .empty, 2, 3),
        ("[1,]", .unexpectedCharacter, 1, 4),
        ("{\"a\":1,}", .unexpectedCharacter, 1, 8),
        ("{\"a\" 1}", .unexpectedCharacter, 1, 6),
        ("[1 2]", .unexpectedCharacter, 1, 4),
        ("{'a':1}", .unexpectedCharacter, 1, 2),
        ("[1,\n 2", .unexpectedEnd, 2, 3),
        ("{\"a\":", .unexpectedEnd, 1, 6),
        ("\"abc", .unexpectedEnd, 1, 5),
        ("1 2", .trailingContent, 1, 3),
        ("{} x", .trailingContent, 1, 4),
        ("01", .invalidNumber, 1, 2),
        ("1.", .invalidNumber, 1, 3),
        ("-", .invalidNumber, 1, 2),
        ("1e+", .invalidNumber, 1, 4),
        ("[.5]", .unexpectedCharacter, 1, 2),
        ("1e400", .numberOutOfRange, 1, 1),
        ("[-1e309]", .numberOutOfRange, 1, 2),
        ("NaN", .nonFiniteLiteral, 1, 1),
        ("[Infinity]", .nonFiniteLiteral, 1, 2),
        ("{\"a\": -Infinity}", .nonFiniteLiteral, 1, 7),
        (#""\x""#, .invalidEscape, 1, 2),
        (#""\ud800""#, .invalidUnicodeEscape, 1, 2),
        (#""\udc00\ud800""#, .invalidUnicodeEscape, 1, 2),
        (#""\ud800\u0041""#, .invalidUnicodeEscape, 1, 2),
        (#""\u12G4""#, .invalidUnicodeEscape, 1, 2),
        ("\"a\tb\"", .controlCharacterInString, 1, 3),
        ("\"line\nbreak\"", .controlCharacterInString, 1, 6),
        ("{\"a\": 1,\n  \"a\": 2}", .duplicateKey, 2, 3),
        ("tru", .unexpectedCharacter, 1, 1),
        ("nul", .unexpectedCharacter, 1, 1),
    ])
    func reportsHostileInput(text: String, code: JSONParseError.Code, line: Int, column: Int) {
        let error = parseError(text)
        #expect(error?.code == code, "\(text.debugDescription)")
        #expect(error?.location == SourceLocation(line: line, column: column), "\(text.debugDescription)")
        #expect(error?.description.hasPrefix("\(line):\(column): ") == true)
    }

    @Test func duplicateKeyDetectedInLargeObjects() {
        let members = (0..<40).map { "\"k\($0)\": \($0)" }.joined(separator: ",")
        let error = parseError("{\(members), \"k7\": 1}")
        #expect(error?.code == .duplicateKey)
        #expect(error?.message.contains("\"k7\"") == true)
    }

    @Test func byteOrderMarkIsRejectedWithAClearMessage() {
        let error = parseError([0xEF, 0xBB, 0xBF] + Array("{}".utf8))
        #expect(error?.code == .byteOrderMark)
        #expect(error?.message.contains("without a BOM") == true)
        #expect(error?.location == SourceLocation(line: 1, column: 1))
    }

    @Test(arguments: [
        [UInt8(ascii: "\""), 0xC3, 0x28, UInt8(ascii: "\"")],  // bad continuation
        [UInt8(ascii: "\""), 0xC0, 0xAF, UInt8(ascii: "\"")],  // overlong
        [UInt8(ascii: "\""), 0xED, 0xA0, 0x80, UInt8(ascii: "\"")],  // encoded surrogate
        [UInt8(ascii: "\""), 0xF4, 0x90, 0x80, 0x80, UInt8(ascii: "\"")],  // above U+10FFFF
        [UInt8(ascii: "\""), 0xE2, 0x82, UInt8(ascii: "\"")],  // truncated
        [UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")],
    ])
    func invalidUTF8IsReportedWithItsPosition(bytes: [UInt8]) {
        let error = parseError(bytes)
        #expect(error?.code == .invalidUTF8)
        #expect(error?.byteOffset == 1)
        #expect(error?.location == SourceLocation(line: 1, column: 2))
    }

    @Test func invalidUTF8OutsideStrings() {
        let error = parseError([UInt8(ascii: "["), 0xFF, UInt8(ascii: "]")])
        #expect(error?.code == .invalidUTF8)
        #expect(error?.byteOffset == 1)
    }

    @Test func columnsCountUnicodeScalars() {
        // "é" is two bytes but one column; the error is at the stray "x".
        let error = parseError("{\"é😀\": 1 x}")
        #expect(error?.code == .unexpectedCharacter)
        #expect(error?.location == SourceLocation(line: 1, column: 10))
    }

    @Test func crlfCountsAsOneLineBreak() {
        let error = parseError("{\r\n\"a\": 1,\r\n}")
        #expect(error?.location == SourceLocation(line: 3, column: 1))
    }

    @Test func deepNestingIsRejectedQuicklyWithoutRecursion() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 10 << 20)
        let clock = ContinuousClock()
        var error: JSONParseError?
        let elapsed = clock.measure { error = parseError(bytes) }
        #expect(error?.code == .tooDeep)
        #expect(error?.byteOffset == 64)
        #expect(elapsed < .seconds(2))
    }

    @Test func depthLimitAllowsExactlyMaxDepth() throws {
        var options = JSONParseOptions()
        options.maxDepth = 3
        #expect(throws: Never.self) { try parse("[[[1]]]", options: options) }
        #expect(parseError("[[[[1]]]]", options: options)?.code == .tooDeep)
        #expect(parseError("{\"a\":{\"b\":{\"c\":{}}}}", options: options)?.code == .tooDeep)
    }

    @Test func sizeLimits() {
        var options = JSONParseOptions()
        options.maxBytes = 10
        #expect(parseError("[1,2,3,4,5,6]", options: options)?.code == .tooLarge)
        options = JSONParseOptions()
        options.maxStringBytes = 4
        #expect(parseError(#"["abcd"]"#, options: options) == nil)
        #expect(parseError(#"["abcde"]"#, options: options)?.code == .stringTooLong)
        #expect(parseError(#"["ab\ncde"]"#, options: options)?.code == .stringTooLong)
        options = JSONParseOptions()
        options.maxMembers = 3
        #expect(parseError("[1,2,3]", options: options) == nil)
        #expect(parseError("[1,2,3,4]", options: options)?.code == .tooManyMembers)
        #expect(parseError(#"{"a":1,"b":2,"c":3,"d":4}"#, options: options)?.code == .tooManyMembers)
    }

    @Test func messagesDoNotQuoteDocumentContent() {
        let error = parseError(#"{"secret": "Jane Doe", "x": Jane}"#)
        #expect(error?.code == .unexpectedCharacter)
        #expect(error?.message.contains("Jane") == false)
    }

    @Test func locationOfPointers() throws {
        let text = """
            {
              "child": {"nhsNumber": "943 476 5919", "names": ["a", {"b": [1, 2]}]},
              "weird/key~": true,
              "esc\\u0041ped": 5
            }
            """
        let document = try JSONDocument(parsing: Array(text.utf8))
        #expect(document.location(of: .root) == SourceLocation(line: 1, column: 1))
        #expect(document.location(of: "/child") == SourceLocation(line: 2, column: 12))
        #expect(document.location(of: "/child/nhsNumber") == SourceLocation(line: 2, column: 26))
        #expect(document.location(of: "/child/names/1/b/1") == SourceLocation(line: 2, column: 67))
        #expect(document.location(of: "/weird~1key~0") == SourceLocation(line: 3, column: 17))
        #expect(document.location(of: "/escAped") == SourceLocation(line: 4, column: 19))
        // A missing member points at its nearest existing parent.
        #expect(document.location(of: "/child/dateOfBirth") == SourceLocation(line: 2, column: 12))
        #expect(document.location(of: "/child/names/7") == SourceLocation(line: 2, column: 51))
    }
}
