// journald's native protocol, read back by tests standing in for journald.

/// Parses journald's native protocol: "NAME=value\n", or "NAME\n" + u64 LE length + value + "\n".
public func parseJournalEntry(_ bytes: [UInt8]) -> [(name: String, value: String)]? {
    var fields: [(name: String, value: String)] = []
    var index = 0
    while index < bytes.count {
        guard let end = bytes[index...].firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") }) else { return nil }
        let name = String(decoding: bytes[index..<end], as: UTF8.self)
        if bytes[end] == UInt8(ascii: "=") {
            guard let lineEnd = bytes[end...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            fields.append((name, String(decoding: bytes[(end + 1)..<lineEnd], as: UTF8.self)))
            index = lineEnd + 1
        } else {
            guard end + 9 <= bytes.count else { return nil }
            var length: UInt64 = 0
            for offset in 0..<8 { length |= UInt64(bytes[end + 1 + offset]) << (8 * UInt64(offset)) }
            let valueStart = end + 9
            let valueEnd = valueStart + Int(length)
            guard valueEnd < bytes.count, bytes[valueEnd] == UInt8(ascii: "\n") else { return nil }
            fields.append((name, String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self)))
            index = valueEnd + 1
        }
    }
    return fields
}
