import TOMLKit

/// A TOML value copied out of TOMLKit into an immutable, Sendable tree, so configuration can cross
/// concurrency domains and TOMLKit's reference types never leave the loader.
indirect enum ConfigNode: Sendable {
    case table([(key: String, value: ConfigNode)])
    case array([ConfigNode])
    case string(String)
    case integer(Int)
    case float(Double)
    case boolean(Bool)
    /// Dates and times are not used by any key; kept as text so a mistaken one is reported, not lost.
    case dateTime(String)

    var typeName: String {
        switch self {
        case .table: "table"
        case .array: "array"
        case .string: "string"
        case .integer: "integer"
        case .float: "number"
        case .boolean: "boolean"
        case .dateTime: "date/time"
        }
    }

    init(_ value: any TOMLValueConvertible) {
        switch value.type {
        case .table:
            let table = value.table ?? TOMLTable()
            self = .table(table.keys.compactMap { key in table[key].map { (key, ConfigNode($0)) } })
        case .array:
            self = .array((value.array ?? TOMLArray()).map { ConfigNode($0) })
        case .string:
            self = .string(value.string ?? "")
        case .int:
            self = .integer(value.int ?? 0)
        case .double:
            self = .float(value.double ?? 0)
        case .bool:
            self = .boolean(value.bool ?? false)
        case .date, .time, .dateTime:
            self = .dateTime(value.debugDescription)
        }
    }
}

/// One parsed TOML file: its tree and where each key is.
struct TOMLFile: Sendable {
    /// The name used in messages (relative to the configuration directory when inside it).
    var displayName: String
    var root: [(key: String, value: ConfigNode)]
    var sourceMap: TOMLSourceMap

    /// Parses `text`; a syntax error becomes a problem with TOMLKit's line.
    static func parse(text: String, displayName: String) throws(ConfigurationError) -> TOMLFile {
        do {
            let table = try TOMLTable(string: text)
            guard case .table(let members) = ConfigNode(table) else {
                throw ConfigurationError(problems: [ConfigurationProblem(
                    file: displayName, line: nil, key: "", message: "is not a TOML table")])
            }
            return TOMLFile(displayName: displayName, root: members, sourceMap: TOMLSourceMap(text: text))
        } catch let error as TOMLParseError {
            throw ConfigurationError(problems: [ConfigurationProblem(
                file: displayName, line: error.source.begin.line, key: "",
                message: "TOML syntax error: \(error.description)")])
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError(problems: [ConfigurationProblem(
                file: displayName, line: nil, key: "", message: "cannot be parsed: \(error)")])
        }
    }
}
