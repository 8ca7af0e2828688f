import JSONSchema

/// One reason a referral is invalid, as reported to the agency (errors.json, receipts, CLI).
/// Messages may quote the agency's own values, so they go to the agency, never to logs.
public struct ValidationIssue: Sendable, Hashable {
    /// JSON pointer of the offending value in the referral ("" for the whole document).
    public var pointer: String
    /// The schema keyword that failed, or `json` when the file is not valid JSON.
    public var keyword: String
    public var message: String
    public var line: Int?
    public var column: Int?
    /// Absolute schema location (URI with JSON-pointer fragment), when from the schema.
    public var schemaLocation: String?

    public init(pointer: String, keyword: String, message: String, line: Int?, column: Int?, schemaLocation: String?) {
        self.pointer = pointer
        self.keyword = keyword
        self.message = message
        self.line = line
        self.column = column
        self.schemaLocation = schemaLocation
    }

    init(_ error: ValidationError) {
        self.init(pointer: error.instanceLocation.description, keyword: error.keyword, message: error.message,
                  line: error.sourceLocation?.line, column: error.sourceLocation?.column,
                  schemaLocation: error.absoluteKeywordLocation)
    }

    init(_ error: JSONParseError) {
        self.init(pointer: "", keyword: "json", message: "The file is not valid JSON: \(error.message)",
                  line: error.location.line, column: error.location.column, schemaLocation: nil)
    }

    /// `line:column` or `-`.
    public var position: String {
        guard let line else { return "-" }
        return "\(line):\(column ?? 0)"
    }

    /// `{pointer, keyword, message, line, column, schemaLocation}` as written to reports.
    public var jsonValue: JSONValue { json }

    var json: JSONValue {
        var object = JSONObject()
        object["pointer"] = .string(pointer)
        object["keyword"] = .string(keyword)
        object["message"] = .string(message)
        object["line"] = line.map { .number(JSONNumber($0)) } ?? .null
        object["column"] = column.map { .number(JSONNumber($0)) } ?? .null
        if let schemaLocation { object["schemaLocation"] = .string(schemaLocation) }
        return .object(object)
    }
}
