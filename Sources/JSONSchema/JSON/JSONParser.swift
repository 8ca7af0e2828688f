/// A strict RFC 8259 parser over UTF-8 bytes.
///
/// Iterative (an explicit stack of open containers), so hostile nesting can never exhaust the
/// call stack; the depth limit is checked before a container is opened.
struct JSONParser: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let options: JSONParseOptions
    private var offset = 0

    /// One open array or object.
    private struct Frame {
        var isObject: Bool
        var elements: [JSONValue] = []
        var members: [JSONObject.Member] = []
        /// Built once an object grows past a few members, for duplicate detection.
        var keyIndex: [String: Int]?
        var pendingKey = ""
    }

    init(bytes: UnsafeBufferPointer<UInt8>, options: JSONParseOptions) {
        self.bytes = bytes
        self.options = options
    }

    static func parse(_ bytes: [UInt8], options: JSONParseOptions) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer, options: options)
            do throws(JSONParseError) {
                return .success(try parser.parseDocument())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count > options.maxBytes {
            throw failure(.tooLarge, "the document is larger than the limit of \(options.maxBytes) bytes", at: 0)
        }
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw failure(
                .byteOrderMark,
                "the file starts with a byte order mark (BOM); save it as UTF-8 without a BOM",
                at: 0)
        }
        skipWhitespace()
        if offset == bytes.count {
            throw failure(.empty, "the document is empty: expected a JSON value", at: offset)
        }
        let root = try parseValueTree()
        skipWhitespace()
        if offset != bytes.count {
            if bytes[offset] >= 0x80, !isValidUTF8Sequence(at: offset) {
                throw failure(.invalidUTF8, "the text is not valid UTF-8", at: offset)
            }
            throw failure(.trailingContent, "unexpected content after the end of the JSON value", at: offset)
        }
        return root
    }

    // MARK: - Values

    private mutating func parseValueTree() throws(JSONParseError) -> JSONValue {
        var stack: [Frame] = []
        while true {
            // Parse one value; containers push a frame and go round again for their first child.
            skipWhitespace()
            guard offset < bytes.count else {
                throw failure(.unexpectedEnd, endMessage(stack), at: offset)
            }
            var value: JSONValue
            switch bytes[offset] {
            case UInt8(ascii: "{"):
                try checkDepth(stack.count)
                offset += 1
                skipWhitespace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                    offset += 1
                    value = .object(JSONObject())
                } else {
                    var frame = Frame(isObject: true)
                    frame.pendingKey = try parseKey(in: &frame)
                    stack.append(frame)
                    continue
                }
            case UInt8(ascii: "["):
                try checkDepth(stack.count)
                offset += 1
                skipWhitespace()
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                    value = .array([])
                } else {
                    stack.append(Frame(isObject: false))
                    continue
                }
            case UInt8(ascii: "\""):
                value = .string(try parseString())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            default:
                throw unexpectedValueStart()
            }

            // Attach the finished value to its parent, closing containers as they end.
            attach: while true {
                guard !stack.isEmpty else { return value }
                let top = stack.count - 1
                if stack[top].isObject {
                    stack[top].members.append((key: stack[top].pendingKey, value: value))
                } else {
                    stack[top].elements.append(value)
                }
                skipWhitespace()
                guard offset < bytes.count else {
                    throw failure(.unexpectedEnd, endMessage(stack), at: offset)
                }
                let byte = bytes[offset]
                if stack[top].isObject {
                    if byte == UInt8(ascii: ",") {
                        offset += 1
                        if stack[top].members.count >= options.maxMembers {
                            throw failure(
                                .tooManyMembers, "an object has more than the limit of \(options.maxMembers) members",
                                at: offset)
                        }
                        skipWhitespace()
                        stack[top].pendingKey = try parseKey(in: &stack[top])
                        break attach
                    } else if byte == UInt8(ascii: "}") {
                        offset += 1
                        let frame = stack.removeLast()
                        value = .object(JSONObject(uniqueMembers: frame.members, index: frame.keyIndex))
                    } else {
                        throw failure(.unexpectedCharacter, "expected ',' or '}' after an object member", at: offset)
                    }
                } else {
                    if byte == UInt8(ascii: ",") {
                        offset += 1
                        if stack[top].elements.count >= options.maxMembers {
                            throw failure(
                                .tooManyMembers, "an array has more than the limit of \(options.maxMembers) elements",
                                at: offset)
                        }
                        break attach
                    } else if byte == UInt8(ascii: "]") {
                        offset += 1
                        let frame = stack.removeLast()
                        value = .array(frame.elements)
                    } else {
                        throw failure(.unexpectedCharacter, "expected ',' or ']' after an array element", at: offset)
                    }
                }
            }
        }
    }

    private func checkDepth(_ openContainers: Int) throws(JSONParseError) {
        if openContainers >= options.maxDepth {
            throw failure(
                .tooDeep, "arrays and objects are nested deeper than the limit of \(options.maxDepth)", at: offset)
        }
    }

    private func endMessage(_ stack: [Frame]) -> String {
        guard let top = stack.last else { return "the document ends where a value was expected" }
        return top.isObject ? "the document ends inside an object" : "the document ends inside an array"
    }

    /// Parses `"key" :` at the offset (whitespace before the key already skipped) and checks
    /// the key is new in `frame`.
    private mutating func parseKey(in frame: inout Frame) throws(JSONParseError) -> String {
        guard offset < bytes.count else {
            throw failure(.unexpectedEnd, "the document ends inside an object", at: offset)
        }
        guard bytes[offset] == UInt8(ascii: "\"") else {
            throw failure(.unexpectedCharacter, "expected a member name in double quotes", at: offset)
        }
        let keyStart = offset
        let key = try parseString()
        if frame.keyIndex != nil {
            if frame.keyIndex?[key] != nil { throw duplicate(key, at: keyStart) }
            frame.keyIndex?[key] = frame.members.count
        } else {
            for member in frame.members where member.key == key {
                throw duplicate(key, at: keyStart)
            }
            if frame.members.count >= JSONObject.indexThreshold {
                var index: [String: Int] = [:]
                for (position, member) in frame.members.enumerated() { index[member.key] = position }
                index[key] = frame.members.count
                frame.keyIndex = index
            }
        }
        skipWhitespace()
        guard offset < bytes.count else {
            throw failure(.unexpectedEnd, "the document ends inside an object", at: offset)
        }
        guard bytes[offset] == UInt8(ascii: ":") else {
            throw failure(.unexpectedCharacter, "expected ':' after a member name", at: offset)
        }
        offset += 1
        return key
    }

    private func duplicate(_ key: String, at position: Int) -> JSONParseError {
        var shown = String(key.unicodeScalars.prefix(40))
        if shown.unicodeScalars.count < key.unicodeScalars.count { shown += "…" }
        return failure(.duplicateKey, "duplicate member name \"\(shown)\" in an object", at: position)
    }

    private mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        let matches: Bool = word.withUTF8Buffer { expected in
            guard offset + count <= bytes.count else { return false }
            for i in 0..<count where bytes[offset + i] != expected[i] { return false }
            return true
        }
        guard matches else { throw unexpectedValueStart() }
        offset += count
    }

    /// The error for a byte that cannot start a value: names NaN/Infinity specifically.
    private func unexpectedValueStart() -> JSONParseError {
        for word in ["NaN", "Infinity", "-Infinity"] where hasPrefix(word, at: offset) {
            return failure(.nonFiniteLiteral, "NaN and Infinity are not valid JSON numbers", at: offset)
        }
        let byte = bytes[offset]
        if byte >= 0x80, !isValidUTF8Sequence(at: offset) {
            return failure(.invalidUTF8, "the text is not valid UTF-8", at: offset)
        }
        if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: ",") {
            return failure(.unexpectedCharacter, "expected a value (a trailing comma is not allowed)", at: offset)
        }
        if byte == UInt8(ascii: "'") {
            return failure(.unexpectedCharacter, "strings must use double quotes", at: offset)
        }
        return failure(
            .unexpectedCharacter, "expected a value: an object, array, string, number, true, false or null", at: offset)
    }

    private func hasPrefix(_ word: String, at position: Int) -> Bool {
        var i = position
        for byte in word.utf8 {
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
        }
        return true
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = offset
        if hasPrefix("-Infinity", at: start) {
            throw failure(.nonFiniteLiteral, "NaN and Infinity are not valid JSON numbers", at: start)
        }
        switch NumberGrammar.scanDetailed(bytes, from: start) {
        case .failure(let error):
            throw failure(.invalidNumber, "invalid number: \(error.reason)", at: error.offset)
        case .success(let shape):
            let literal = UnsafeBufferPointer(rebasing: bytes[start..<shape.end])
            guard let number = JSONNumber(validatedLiteral: literal, shape: shape) else {
                throw failure(.numberOutOfRange, "the number is too large in magnitude to represent", at: start)
            }
            offset = shape.end
            return number
        }
    }

    // MARK: - Strings

    /// Parses a string whose opening quote is at the offset.
    private mutating func parseString() throws(JSONParseError) -> String {
        let start = offset
        offset += 1
        var i = offset
        let end = bytes.count
        // Fast path: no escapes.
        while i < end {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                try checkStringLength(from: start, to: i)
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<i]), as: UTF8.self)
                offset = i + 1
                return text
            } else if byte == UInt8(ascii: "\\") {
                break
            } else if byte < 0x20 {
                throw controlCharacter(at: i)
            } else if byte < 0x80 {
                i += 1
            } else {
                i += try utf8SequenceLength(at: i)
            }
        }
        guard i < end else {
            throw failure(.unexpectedEnd, "the document ends inside a string", at: i)
        }
        // Slow path: copy what we have and decode escapes.
        var decoded: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[offset..<i]))
        while i < end {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                try checkStringLength(from: start, to: i)
                offset = i + 1
                return String(decoding: decoded, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                i = try decodeEscape(at: i, into: &decoded)
            } else if byte < 0x20 {
                throw controlCharacter(at: i)
            } else if byte < 0x80 {
                decoded.append(byte)
                i += 1
            } else {
                let length = try utf8SequenceLength(at: i)
                decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<(i + length)]))
                i += length
            }
            if i - start - 2 > options.maxStringBytes {
                try checkStringLength(from: start, to: i)
            }
        }
        throw failure(.unexpectedEnd, "the document ends inside a string", at: i)
    }

    private func checkStringLength(from start: Int, to closingQuote: Int) throws(JSONParseError) {
        if closingQuote - start - 1 > options.maxStringBytes {
            throw failure(
                .stringTooLong, "a string is longer than the limit of \(options.maxStringBytes) bytes", at: start)
        }
    }

    private func controlCharacter(at position: Int) -> JSONParseError {
        failure(
            .controlCharacterInString,
            "a control character (such as a raw line break or tab) inside a string must be escaped, e.g. as \\n or \\t",
            at: position)
    }

    /// Decodes the escape at `position` (a backslash) into `output`; returns the offset after it.
    private func decodeEscape(at position: Int, into output: inout [UInt8]) throws(JSONParseError) -> Int {
        guard position + 1 < bytes.count else {
            throw failure(.unexpectedEnd, "the document ends inside a string", at: position + 1)
        }
        switch bytes[position + 1] {
        case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
        case UInt8(ascii: "/"): output.append(UInt8(ascii: "/"))
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "n"): output.append(0x0A)
        case UInt8(ascii: "r"): output.append(0x0D)
        case UInt8(ascii: "t"): output.append(0x09)
        case UInt8(ascii: "u"):
            let first = try hexQuad(at: position + 2)
            var scalarValue = UInt32(first)
            var next = position + 6
            if (0xD800...0xDBFF).contains(first) {
                guard next + 1 < bytes.count, bytes[next] == UInt8(ascii: "\\"), bytes[next + 1] == UInt8(ascii: "u")
                else {
                    throw failure(
                        .invalidUnicodeEscape, "a \\u escape for a high surrogate must be followed by a low surrogate",
                        at: position)
                }
                let second = try hexQuad(at: next + 2)
                guard (0xDC00...0xDFFF).contains(second) else {
                    throw failure(
                        .invalidUnicodeEscape, "a \\u escape for a high surrogate must be followed by a low surrogate",
                        at: position)
                }
                scalarValue = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
                next += 6
            } else if (0xDC00...0xDFFF).contains(first) {
                throw failure(
                    .invalidUnicodeEscape, "a \\u escape for a low surrogate must follow a high surrogate", at: position)
            }
            guard let scalar = Unicode.Scalar(scalarValue) else {
                throw failure(.invalidUnicodeEscape, "invalid \\u escape", at: position)
            }
            UTF8.encode(scalar) { output.append($0) }
            return next
        default:
            throw failure(
                .invalidEscape,
                "invalid escape in a string; allowed are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX",
                at: position)
        }
        return position + 2
    }

    private func hexQuad(at position: Int) throws(JSONParseError) -> UInt16 {
        guard position + 4 <= bytes.count else {
            throw failure(.invalidUnicodeEscape, "a \\u escape needs four hexadecimal digits", at: position - 2)
        }
        var value: UInt16 = 0
        for i in position..<(position + 4) {
            let byte = bytes[i]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default:
                throw failure(.invalidUnicodeEscape, "a \\u escape needs four hexadecimal digits", at: position - 2)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Decodes the string whose opening quote is at `position` in valid JSON; for re-scans.
    static func decodeString(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> (text: String, end: Int)? {
        var unlimited = JSONParseOptions()
        unlimited.maxStringBytes = Int.max
        var parser = JSONParser(bytes: bytes, options: unlimited)
        parser.offset = position
        do throws(JSONParseError) {
            let text = try parser.parseString()
            return (text, parser.offset)
        } catch {
            return nil
        }
    }

    // MARK: - UTF-8 and whitespace

    /// The length of the valid UTF-8 sequence starting at `position` (a byte ≥ 0x80), or throws.
    @inline(__always)
    private func utf8SequenceLength(at position: Int) throws(JSONParseError) -> Int {
        let length = UTF8Check.sequenceLength(bytes, at: position)
        if length == 0 {
            throw failure(.invalidUTF8, "the text is not valid UTF-8", at: position)
        }
        return length
    }

    private func isValidUTF8Sequence(at position: Int) -> Bool {
        UTF8Check.sequenceLength(bytes, at: position) != 0
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x0A, 0x0D, 0x09: offset += 1
            default: return
            }
        }
    }

    private func failure(_ code: JSONParseError.Code, _ message: String, at position: Int) -> JSONParseError {
        JSONParseError(
            code: code, message: message, location: SourceLocation.of(byteOffset: position, in: bytes),
            byteOffset: position)
    }
}
