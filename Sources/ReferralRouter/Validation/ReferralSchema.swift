import Foundation
import JSONSchema

/// The result of checking one file's bytes.
public enum ValidationOutcome: Sendable {
    case valid(JSONDocument)
    /// Readable JSON that breaks the schema: routing may still apply the safety net to it.
    case invalid(JSONDocument, [ValidationIssue])
    /// Not JSON at all (or beyond the size and depth limits).
    case unreadable(ValidationIssue)

    public var issues: [ValidationIssue] {
        switch self {
        case .valid: []
        case .invalid(_, let issues): issues
        case .unreadable(let issue): [issue]
        }
    }
}

/// The validation stage: the shared assessment schema, compiled once, with format assertion on
/// (so `nhs-number`, `upn`, `uk-postcode` and the standard formats are checked, and an unknown
/// format is an error at load time).
public struct ReferralSchema: Sendable {
    public let schema: Schema
    public let parseOptions: JSONParseOptions
    public let path: String

    public init(schema: Schema, parseOptions: JSONParseOptions, path: String) {
        self.schema = schema
        self.parseOptions = parseOptions
        self.path = path
    }

    /// Loads and compiles a schema file; the router's own schema always asserts formats.
    public static func load(path: String, maxDepth: Int, maxBytes: Int, assertFormats: Bool = true) throws(ReferralSchemaError) -> ReferralSchema {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReferralSchemaError(message: "\(path) cannot be read")
        }
        var options = SchemaOptions()
        options.assertFormats = assertFormats
        let schema: Schema
        do {
            schema = try Schema(parsing: [UInt8](data), options: options)
        } catch {
            throw ReferralSchemaError(message: error.description)
        }
        var parseOptions = JSONParseOptions()
        parseOptions.maxDepth = maxDepth
        parseOptions.maxBytes = maxBytes
        return ReferralSchema(schema: schema, parseOptions: parseOptions, path: path)
    }

    /// Parses and validates; every error is reported, each with its line:column.
    public func check(_ bytes: [UInt8]) -> ValidationOutcome {
        let document: JSONDocument
        do {
            document = try JSONDocument(parsing: bytes, options: parseOptions)
        } catch {
            return .unreadable(ValidationIssue(error))
        }
        let result = schema.validate(document)
        if result.isValid { return .valid(document) }
        return .invalid(document, result.errors.map(ValidationIssue.init))
    }

    /// Whether the schema defines a field path (for configuration checks).
    func defines(_ path: FieldPath) -> Bool {
        schema.lookup(path: path.schemaTokens) != .undefined
    }

    public var id: String? { schema.id }
}

public struct ReferralSchemaError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
