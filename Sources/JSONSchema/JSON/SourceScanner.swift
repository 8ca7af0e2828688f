/// Walks already-validated JSON source to find where a value starts, without building values.
struct SourceScanner {
    let bytes: UnsafeBufferPointer<UInt8>

    /// The byte offset of the deepest value on `pointer`'s path that exists.
    func startOffset(of pointer: JSONPointer) -> Int? {
        var position = skipWhitespace(from: 0)
        guard position < bytes.count else { return nil }
        for token in pointer.tokens {
            guard let child = childStart(of: position, token: token) else { return position }
            position = child
        }
        return position
    }

    private func childStart(of position: Int, token: String) -> Int? {
        switch bytes[position] {
        case UInt8(ascii: "{"):
            var i = skipWhitespace(from: position + 1)
            guard i < bytes.count, bytes[i] != UInt8(ascii: "}") else { return nil }
            while i < bytes.count {
                guard let (key, afterKey) = JSONParser.decodeString(bytes, at: i) else { return nil }
                var valueStart = skipWhitespace(from: afterKey)
                valueStart = skipWhitespace(from: valueStart + 1)  // the colon
                if key == token { return valueStart }
                guard let valueEnd = skipValue(from: valueStart) else { return nil }
                i = skipWhitespace(from: valueEnd)
                guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return nil }
                i = skipWhitespace(from: i + 1)
            }
            return nil
        case UInt8(ascii: "["):
            guard let index = JSONPointer.arrayIndex(token) else { return nil }
            var i = skipWhitespace(from: position + 1)
            guard i < bytes.count, bytes[i] != UInt8(ascii: "]") else { return nil }
            var current = 0
            while i < bytes.count {
                if current == index { return i }
                guard let valueEnd = skipValue(from: i) else { return nil }
                i = skipWhitespace(from: valueEnd)
                guard i < bytes.count, bytes[i] == UInt8(ascii: ",") else { return nil }
                i = skipWhitespace(from: i + 1)
                current += 1
            }
            return nil
        default:
            return nil
        }
    }

    /// The offset just past the value starting at `position`. Iterative: counts brackets.
    private func skipValue(from position: Int) -> Int? {
        guard position < bytes.count else { return nil }
        var i = position
        switch bytes[i] {
        case UInt8(ascii: "\""):
            return skipString(from: i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    guard let end = skipString(from: i) else { return nil }
                    i = end
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        default:
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09: return i
                default: i += 1
                }
            }
            return i
        }
    }

    /// The offset just past the string whose opening quote is at `position`.
    private func skipString(from position: Int) -> Int? {
        var i = position + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""): return i + 1
            case UInt8(ascii: "\\"): i += 2
            default: i += 1
            }
        }
        return nil
    }

    private func skipWhitespace(from position: Int) -> Int {
        var i = position
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0A, 0x0D, 0x09: i += 1
            default: return i
            }
        }
        return i
    }
}
