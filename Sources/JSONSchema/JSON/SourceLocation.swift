/// A position in a source document.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// 1-based.
    public var line: Int
    /// 1-based, counted in Unicode scalars.
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// "12:5".
    public var description: String { "\(line):\(column)" }

    /// The line and column of `byteOffset` in UTF-8 `bytes`. "\n", "\r\n" and a lone "\r" each end
    /// a line; columns count scalar starts, so a multi-byte character is one column.
    static func of(byteOffset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> SourceLocation {
        let end = min(max(byteOffset, 0), bytes.count)
        var line = 1
        var column = 1
        var i = 0
        while i < end {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte == UInt8(ascii: "\r") {
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\n") {
                    // counted at the "\n"
                } else {
                    line += 1
                    column = 1
                }
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return SourceLocation(line: line, column: column)
    }

    static func of(byteOffset: Int, in bytes: [UInt8]) -> SourceLocation {
        bytes.withUnsafeBufferPointer { of(byteOffset: byteOffset, in: $0) }
    }
}
