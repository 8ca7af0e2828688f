/// A JSON Schema (draft 2020-12) compiled once into an evaluator graph; instances are checked
/// by walking that graph, never by re-reading the schema JSON.
public struct Schema: Sendable {
    let compiled: CompiledSchema
    public let id: String?

    public init(_ schema: JSONValue, options: SchemaOptions = .init()) throws(SchemaError) {
        var compiler = SchemaCompiler(options: options)
        var rootURI = ""
        if case .string(let declared)? = schema["$id"] {
            rootURI = URIReference(parsing: declared).textWithoutFragment
            id = declared
        } else {
            id = nil
        }
        let document = try compiler.addDocument(schema, uri: rootURI)
        let root = try compiler.compile(SchemaLocation(document: document, pointer: []))
        compiled = CompiledSchema(
            nodes: compiler.nodes, root: root, dynamicAnchors: compiler.dynamicAnchors,
            maxRegexSteps: max(1, options.maxRegexSteps))
    }

    /// Parses and compiles; a parse failure becomes a `SchemaError` naming line:column.
    public init(parsing bytes: [UInt8], options: SchemaOptions = .init()) throws(SchemaError) {
        let document: JSONDocument
        do {
            document = try JSONDocument(parsing: bytes)
        } catch {
            throw SchemaError(
                message: "the schema is not valid JSON: \(error.description) [\(error.code.rawValue)]",
                schemaLocation: "")
        }
        try self.init(document.root, options: options)
    }

    /// Fast path: no error values are built and evaluation stops at the first failure.
    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluator = Evaluator(schema: compiled, reporting: false)
        var none: EvaluatedSet? = nil
        return evaluator.evaluate(compiled.root, instance, &none)
    }

    /// Every error, in document order.
    public func validate(_ instance: JSONValue) -> ValidationResult {
        if isValid(instance) { return ValidationResult(errors: []) }
        var evaluator = Evaluator(schema: compiled, reporting: true)
        var none: EvaluatedSet? = nil
        _ = evaluator.evaluate(compiled.root, instance, &none)
        return ValidationResult(errors: Evaluator.sorted(evaluator.errors))
    }

    /// Like `validate(_:)`, with each error's line:column in the source document.
    public func validate(_ document: JSONDocument) -> ValidationResult {
        var result = validate(document.root)
        for index in result.errors.indices {
            result.errors[index].sourceLocation = document.location(of: result.errors[index].instanceLocation)
        }
        return result
    }
}
