/// Finds the line of a key in TOML source text.
///
/// TOMLKit reports positions only for syntax errors, so semantic errors ("unknown destination") would
/// have no line. This scanner follows table headers, arrays of tables and `key =` lines, skipping
/// multi-line strings and arrays, and records the line of every key path it sees, e.g.
/// `destination[1].url` or `router.state_directory`. Arrays of tables are indexed from 0 in order of
/// appearance, matching the order TOMLKit returns.
struct TOMLSourceMap: Sendable {
    private var lines: [String: Int] = [:]

    init(text: String) {
        var tableCounts: [String: Int] = [:]
        var current = ""
        var inMultilineString: String? = nil   // the closing delimiter while inside one
        var bracketDepth = 0                   // inside a multi-line array / inline table value
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if let closing = inMultilineString {
                guard let range = line.range(of: closing) else { continue }
                inMultilineString = nil
                line = line[range.upperBound...]
            }
            if bracketDepth > 0 {
                bracketDepth = max(0, bracketDepth + Self.bracketBalance(of: line, multiline: &inMultilineString))
                continue
            }
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("[[") {
                let name = Self.headerName(trimmed.dropFirst(2), closing: "]]")
                let index = tableCounts[name, default: 0]
                tableCounts[name] = index + 1
                current = "\(name)[\(index)]"
                lines[current] = lineNumber
                continue
            }
            if trimmed.hasPrefix("[") {
                let name = Self.headerName(trimmed.dropFirst(), closing: "]")
                current = Self.resolve(name, counts: tableCounts)
                if lines[current] == nil { lines[current] = lineNumber }
                continue
            }
            guard let equals = Self.assignmentIndex(in: trimmed) else { continue }
            let key = Self.normaliseKey(trimmed[..<equals])
            let path = current.isEmpty ? key : "\(current).\(key)"
            if lines[path] == nil { lines[path] = lineNumber }
            let value = trimmed[trimmed.index(after: equals)...]
            bracketDepth = max(0, Self.bracketBalance(of: value, multiline: &inMultilineString))
        }
    }

    /// The line of `path`, else of its nearest enclosing table or array element.
    func line(of path: String) -> Int? {
        var candidate = path
        while !candidate.isEmpty {
            if let line = lines[candidate] { return line }
            if let dot = candidate.lastIndex(where: { $0 == "." || $0 == "[" }) {
                candidate = String(candidate[..<dot])
            } else {
                return nil
            }
        }
        return nil
    }

    // MARK: - Scanning helpers

    private static func headerName(_ text: Substring, closing: String) -> String {
        let body = text.range(of: closing).map { text[..<$0.lowerBound] } ?? text
        return normaliseKey(body)
    }

    /// `[destination.tls]` after two `[[destination]]` headers belongs to `destination[1].tls`.
    private static func resolve(_ name: String, counts: [String: Int]) -> String {
        var resolved = ""
        var prefix = ""
        for part in name.split(separator: ".") {
            prefix = prefix.isEmpty ? String(part) : "\(prefix).\(part)"
            resolved = resolved.isEmpty ? String(part) : "\(resolved).\(part)"
            if let count = counts[prefix], count > 0 { resolved += "[\(count - 1)]" }
        }
        return resolved
    }

    private static func normaliseKey(_ text: Substring) -> String {
        text.split(separator: ".")
            .map { part in
                part.trimmingCharacters(in: [" ", "\t", "\"", "'"])
            }
            .joined(separator: ".")
    }

    /// Index of the `=` of a `key = value` line, ignoring `=` inside quoted keys.
    private static func assignmentIndex(in line: Substring) -> Substring.Index? {
        var quote: Character? = nil
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "=" {
                return index
            } else if character == "#" {
                return nil
            }
        }
        return nil
    }

    /// Net `[`/`{` minus `]`/`}` outside strings and comments; notes an unclosed multi-line string.
    private static func bracketBalance(of text: Substring, multiline: inout String?) -> Int {
        var balance = 0
        var index = text.startIndex
        while index < text.endIndex {
            let rest = text[index...]
            if rest.hasPrefix("\"\"\"") || rest.hasPrefix("'''") {
                let delimiter = String(rest.prefix(3))
                let after = text.index(index, offsetBy: 3)
                if let close = text[after...].range(of: delimiter) {
                    index = close.upperBound
                    continue
                }
                multiline = delimiter
                return balance
            }
            let character = text[index]
            switch character {
            case "\"", "'":
                // A single-line string: skip to its closing quote (honouring backslash escapes in "").
                var cursor = text.index(after: index)
                while cursor < text.endIndex, text[cursor] != character {
                    if character == "\"", text[cursor] == "\\" { cursor = text.index(after: cursor) }
                    if cursor < text.endIndex { cursor = text.index(after: cursor) }
                }
                index = cursor < text.endIndex ? text.index(after: cursor) : cursor
                continue
            case "#":
                return balance
            case "[", "{":
                balance += 1
            case "]", "}":
                balance -= 1
            default:
                break
            }
            index = text.index(after: index)
        }
        return balance
    }
}

private extension Substring {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var slice = self
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
