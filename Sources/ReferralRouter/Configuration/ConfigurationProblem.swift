/// One thing wrong with the configuration, located by file, line and key so an administrator can
/// go straight to it. Messages never contain secret values.
public struct ConfigurationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The file as the administrator named it (relative to the configuration directory when inside it).
    public var file: String
    /// 1-based line, when the key could be located in the source.
    public var line: Int?
    /// The dotted key path, e.g. `destination[2].url` or `rule[R3].when`.
    public var key: String
    public var message: String

    public init(file: String, line: Int?, key: String, message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }
}

/// Start-up (or reload) refused: every problem found, not only the first.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var problems: [ConfigurationProblem]

    public init(problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        return "Configuration has \(problems.count) \(noun):\n"
            + problems.map { "  \($0)" }.joined(separator: "\n")
    }
}
