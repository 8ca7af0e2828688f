/// Collects every configuration problem so start-up reports them all at once.
final class ProblemLog {
    private(set) var problems: [ConfigurationProblem] = []

    func add(_ problem: ConfigurationProblem) { problems.append(problem) }

    func add(file: TOMLFile, key: String, _ message: String) {
        add(ConfigurationProblem(file: file.displayName, line: file.sourceMap.line(of: key), key: key, message: message))
    }

    var isEmpty: Bool { problems.isEmpty }
}

/// Typed, checked access to one TOML table. Every read records a problem on a wrong type or range,
/// and `finish()` reports keys nobody read: a misspelt key must not be silently ignored.
final class ConfigTable {
    let file: TOMLFile
    /// Key path of this table, e.g. `destination[1]`; empty for the file's root.
    let path: String
    private let members: [(key: String, value: ConfigNode)]
    private var readKeys: Set<String> = []
    let problems: ProblemLog

    init(file: TOMLFile, path: String, members: [(key: String, value: ConfigNode)], problems: ProblemLog) {
        self.file = file
        self.path = path
        self.members = members
        self.problems = problems
    }

    static func root(of file: TOMLFile, problems: ProblemLog) -> ConfigTable {
        ConfigTable(file: file, path: "", members: file.root, problems: problems)
    }

    func keyPath(_ key: String) -> String { key.isEmpty ? path : (path.isEmpty ? key : "\(path).\(key)") }

    func line(of key: String) -> Int? { file.sourceMap.line(of: keyPath(key)) }

    var keys: [String] { members.map(\.key) }

    func contains(_ key: String) -> Bool { members.contains { $0.key == key } }

    func problem(_ key: String, _ message: String) {
        problems.add(file: file, key: keyPath(key), message)
    }

    /// The raw node, marking the key as read.
    func node(_ key: String) -> ConfigNode? {
        readKeys.insert(key)
        return members.first { $0.key == key }?.value
    }

    func string(_ key: String) -> String? {
        guard let node = node(key) else { return nil }
        guard case .string(let value) = node else {
            problem(key, "must be a string, found \(node.typeName)")
            return nil
        }
        return value
    }

    func string(_ key: String, default value: String) -> String { string(key) ?? value }

    func requiredString(_ key: String) -> String? {
        guard contains(key) else {
            problem(key, "is required")
            readKeys.insert(key)
            return nil
        }
        guard let value = string(key) else { return nil }
        if value.isEmpty { problem(key, "must not be empty") }
        return value
    }

    /// A string that must be one of `allowed`.
    func choice(_ key: String, from allowed: [String], default value: String?) -> String? {
        guard let text = string(key) else {
            if value == nil, !contains(key) { problem(key, "is required (one of \(allowed.joined(separator: ", ")))") }
            return value
        }
        guard allowed.contains(text) else {
            problem(key, "\"\(text)\" is not one of \(allowed.joined(separator: ", "))")
            return value
        }
        return text
    }

    func integer(_ key: String, default value: Int, range: ClosedRange<Int>) -> Int {
        guard let node = node(key) else { return value }
        guard case .integer(let number) = node else {
            problem(key, "must be an integer, found \(node.typeName)")
            return value
        }
        guard range.contains(number) else {
            problem(key, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)")
            return value
        }
        return number
    }

    func number(_ key: String, default value: Double, range: ClosedRange<Double>) -> Double {
        guard let node = node(key) else { return value }
        let number: Double
        switch node {
        case .integer(let integer): number = Double(integer)
        case .float(let float): number = float
        default:
            problem(key, "must be a number, found \(node.typeName)")
            return value
        }
        guard range.contains(number) else {
            problem(key, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)")
            return value
        }
        return number
    }

    func seconds(_ key: String, default value: Double, range: ClosedRange<Double>) -> Duration {
        let number = number(key, default: value, range: range)
        return .milliseconds(Int64((number * 1000).rounded()))
    }

    func bool(_ key: String, default value: Bool) -> Bool {
        guard let node = node(key) else { return value }
        guard case .boolean(let flag) = node else {
            problem(key, "must be true or false, found \(node.typeName)")
            return value
        }
        return flag
    }

    func stringArray(_ key: String, default value: [String] = []) -> [String] {
        guard let node = node(key) else { return value }
        guard case .array(let elements) = node else {
            problem(key, "must be an array of strings, found \(node.typeName)")
            return value
        }
        var strings: [String] = []
        for (index, element) in elements.enumerated() {
            guard case .string(let text) = element else {
                problem("\(key)[\(index)]", "must be a string, found \(element.typeName)")
                continue
            }
            strings.append(text)
        }
        return strings
    }

    /// An optional sub-table `[path.key]` (or inline table).
    func table(_ key: String) -> ConfigTable? {
        guard let node = node(key) else { return nil }
        guard case .table(let members) = node else {
            problem(key, "must be a table, found \(node.typeName)")
            return nil
        }
        return ConfigTable(file: file, path: keyPath(key), members: members, problems: problems)
    }

    /// An array of tables `[[key]]`, each with path `key[i]`.
    func tables(_ key: String) -> [ConfigTable] {
        guard let node = node(key) else { return [] }
        guard case .array(let elements) = node else {
            problem(key, "must be an array of tables ([[\(key)]]), found \(node.typeName)")
            return []
        }
        var tables: [ConfigTable] = []
        for (index, element) in elements.enumerated() {
            guard case .table(let members) = element else {
                problem("\(key)[\(index)]", "must be a table, found \(element.typeName)")
                continue
            }
            tables.append(ConfigTable(file: file, path: "\(keyPath(key))[\(index)]", members: members, problems: problems))
        }
        return tables
    }

    /// Reports every key that was never read: unknown keys are errors, not ignored.
    func finish() {
        for member in members where !readKeys.contains(member.key) {
            problem(member.key, "is not a known key here")
        }
    }
}
