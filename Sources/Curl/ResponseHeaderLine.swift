/// One line of a response's header block as curl hands it over (CRLF included), read on bytes:
/// this runs for every header of every response, on the loop thread that drives all transfers.
enum ResponseHeaderLine: Equatable {
    /// `HTTP/…`: a new status line (a 1xx interim answer's headers are not the final response's).
    case statusLine
    /// The blank line that ends the block, or a line with nothing usable in it (no colon, no name).
    case ignored
    /// An obsolete folded line (it starts with SP or HTAB): more of the previous header's value.
    case continuation(String)
    case header(name: String, value: String)

    /// Optional whitespace in HTTP is SP and HTAB (RFC 9110 §5.6.3); CR and LF end the line.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }

    private static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence) -> UnsafeBufferPointer<UInt8>.SubSequence {
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[bytes.startIndex..<bytes.startIndex]
        }
        return bytes[first...last]
    }

    static func parse(_ line: UnsafeBufferPointer<UInt8>) -> ResponseHeaderLine {
        if line.starts(with: "HTTP/".utf8) { return .statusLine }
        let content = trimmed(line[...])
        guard !content.isEmpty else { return .ignored }
        if let first = line.first, first == 0x20 || first == 0x09 {
            return .continuation(String(decoding: content, as: UTF8.self))
        }
        guard let colon = content.firstIndex(of: UInt8(ascii: ":")) else { return .ignored }
        let name = trimmed(content[..<colon])
        guard !name.isEmpty else { return .ignored }
        return .header(name: String(decoding: name, as: UTF8.self),
                       value: String(decoding: trimmed(content[(colon + 1)...]), as: UTF8.self))
    }
}
