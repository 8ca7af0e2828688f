/// Compiles schema JSON into `SchemaNode`s: finds every resource (`$id`) and anchor, resolves
/// references (loading remote documents only from `SchemaOptions.remoteDocuments` and the
/// built-in meta-schemas), and compiles each reachable subschema once.
struct SchemaCompiler {
    /// What the scan learnt about one subschema position.
    struct ScanInfo {
        /// Base URI in effect at this subschema (after its own `$id`).
        var base: String
        /// The enclosing resource's URI and this subschema's pointer within it.
        var resourceURI: String
        var resourcePointer: [String]
    }

    let options: SchemaOptions
    private(set) var documents: [JSONValue] = []
    private var documentVocabularies: [Vocabularies] = []
    private var resources: [String: SchemaLocation] = [:]
    private var anchors: [String: SchemaLocation] = [:]
    /// Resource URI → dynamic anchor name → location.
    private var dynamicAnchorLocations: [String: [String: SchemaLocation]] = [:]
    private var scanned: [SchemaLocation: ScanInfo] = [:]
    private(set) var nodes: [SchemaNode] = []
    private var compiled: [SchemaLocation: Int] = [:]
    private var resourceIDs: [String: Int] = [:]
    private(set) var dynamicAnchors: [[String: Int]] = []

    init(options: SchemaOptions) {
        self.options = options
    }

    /// Keywords whose value is one subschema, a map of subschemas, or an array of subschemas.
    static let singleSchemaKeywords = [
        "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "items", "contains", "propertyNames",
        "not", "if", "then", "else",
    ]
    static let schemaMapKeywords = ["$defs", "definitions", "properties", "patternProperties", "dependentSchemas"]
    static let schemaArrayKeywords = ["allOf", "anyOf", "oneOf", "prefixItems"]

    // MARK: - Documents and scanning

    /// Adds a document retrieved from `uri` ("" for the root schema without a retrieval URI).
    @discardableResult
    mutating func addDocument(_ value: JSONValue, uri: String) throws(SchemaError) -> Int {
        let index = documents.count
        documents.append(value)
        documentVocabularies.append(.all)
        let root = SchemaLocation(document: index, pointer: [])
        if resources[uri] == nil { resources[uri] = root }
        scan(value, at: root, base: uri, resourceURI: uri, resourcePointer: [])
        documentVocabularies[index] = try vocabularies(for: value, uri: uri)
        return index
    }

    private mutating func scan(
        _ value: JSONValue, at location: SchemaLocation, base: String, resourceURI: String, resourcePointer: [String]
    ) {
        guard case .object(let object) = value else {
            if case .bool = value {
                scanned[location] = ScanInfo(base: base, resourceURI: resourceURI, resourcePointer: resourcePointer)
            }
            return
        }
        var base = base
        var resourceURI = resourceURI
        var resourcePointer = resourcePointer
        if case .string(let id)? = object["$id"] {
            let resolved = URIReference(parsing: id).resolved(against: URIReference(parsing: base))
            let uri = resolved.textWithoutFragment
            base = uri
            resourceURI = uri
            resourcePointer = []
            if resources[uri] == nil { resources[uri] = location }
        }
        scanned[location] = ScanInfo(base: base, resourceURI: resourceURI, resourcePointer: resourcePointer)
        if case .string(let anchor)? = object["$anchor"] {
            anchors[resourceURI + "#" + anchor] = anchors[resourceURI + "#" + anchor] ?? location
        }
        if case .string(let anchor)? = object["$dynamicAnchor"] {
            anchors[resourceURI + "#" + anchor] = anchors[resourceURI + "#" + anchor] ?? location
            dynamicAnchorLocations[resourceURI, default: [:]][anchor] = location
        }
        for keyword in Self.singleSchemaKeywords {
            if let child = object[keyword] {
                scan(
                    child, at: location.appending(keyword), base: base, resourceURI: resourceURI,
                    resourcePointer: resourcePointer + [keyword])
            }
        }
        for keyword in Self.schemaMapKeywords {
            guard case .object(let map)? = object[keyword] else { continue }
            for (name, child) in map {
                scan(
                    child, at: location.appending(keyword, name), base: base, resourceURI: resourceURI,
                    resourcePointer: resourcePointer + [keyword, name])
            }
        }
        for keyword in Self.schemaArrayKeywords {
            guard case .array(let children)? = object[keyword] else { continue }
            for (index, child) in children.enumerated() {
                scan(
                    child, at: location.appending(keyword, String(index)), base: base, resourceURI: resourceURI,
                    resourcePointer: resourcePointer + [keyword, String(index)])
            }
        }
    }

    private func value(at location: SchemaLocation) -> JSONValue? {
        documents[location.document].value(at: JSONPointer(tokens: location.pointer))
    }

    /// Scan info for a position the scan did not visit (a reference into a non-schema keyword):
    /// inherit from the nearest scanned ancestor.
    private func info(at location: SchemaLocation) -> ScanInfo {
        if let info = scanned[location] { return info }
        var ancestor = location
        var suffix: [String] = []
        while !ancestor.pointer.isEmpty {
            suffix.insert(ancestor.pointer.removeLast(), at: 0)
            if let info = scanned[ancestor] {
                return ScanInfo(
                    base: info.base, resourceURI: info.resourceURI, resourcePointer: info.resourcePointer + suffix)
            }
        }
        return ScanInfo(base: "", resourceURI: "", resourcePointer: location.pointer)
    }

    static func absoluteLocation(resourceURI: String, pointer: [String]) -> String {
        resourceURI + "#" + JSONPointer(tokens: pointer).description
    }

    // MARK: - Vocabularies

    private mutating func vocabularies(for root: JSONValue, uri: String) throws(SchemaError) -> Vocabularies {
        guard case .string(let metaURI)? = root["$schema"] else { return .all }
        let metaKey = URIReference(parsing: metaURI).textWithoutFragment
        if metaKey == "https://json-schema.org/draft/2020-12/schema" || metaKey == uri { return .all }
        guard let meta = loadableDocument(metaKey), case .object(let declared)? = meta["$vocabulary"] else {
            return .all
        }
        var result = Vocabularies(rawValue: 0)
        for (vocabulary, required) in declared {
            if let known = Vocabularies.named[vocabulary] {
                result.insert(known)
            } else if required == .bool(true) {
                throw SchemaError(
                    message: "the meta-schema \(metaKey) requires the unsupported vocabulary \(vocabulary)",
                    schemaLocation: Self.absoluteLocation(resourceURI: uri, pointer: ["$schema"]))
            }
        }
        return result
    }

    private func loadableDocument(_ uri: String) -> JSONValue? {
        if let remote = options.remoteDocuments[uri] { return remote }
        if let text = MetaSchemas.documents[uri] {
            return try? JSONDocument(parsing: Array(text.utf8)).root
        }
        return nil
    }

    // MARK: - References

    /// Resolves a `$ref`/`$dynamicRef` value against `base` to a subschema location.
    mutating func resolve(
        _ reference: String, base: String, from location: SchemaLocation, keyword: String
    ) throws(SchemaError) -> (location: SchemaLocation, fragment: String?) {
        let resolved = URIReference(parsing: reference).resolved(against: URIReference(parsing: base))
        let resourceKey = resolved.textWithoutFragment
        if resources[resourceKey] == nil, let document = loadableDocument(resourceKey) {
            try addDocument(document, uri: resourceKey)
        }
        let failure = SchemaError(
            message: "cannot resolve \(keyword) \"\(reference)\" at \(JSONPointer(tokens: location.pointer))",
            schemaLocation: Self.absoluteLocation(
                resourceURI: info(at: location).resourceURI, pointer: info(at: location).resourcePointer + [keyword]))
        guard let resource = resources[resourceKey] else { throw failure }
        guard let fragment = resolved.fragment, !fragment.isEmpty else { return (resource, resolved.fragment) }
        if fragment.hasPrefix("/") {
            let decoded = URIReference.percentDecoded(fragment)
            guard let pointer = try? JSONPointer(parsing: decoded) else { throw failure }
            let target = SchemaLocation(document: resource.document, pointer: resource.pointer + pointer.tokens)
            guard value(at: target) != nil else { throw failure }
            return (target, fragment)
        }
        let resourceURI = info(at: resource).resourceURI
        guard let target = anchors[resourceURI + "#" + fragment] ?? anchors[resourceKey + "#" + fragment] else {
            throw failure
        }
        return (target, fragment)
    }

    // MARK: - Compiling

    mutating func compile(_ location: SchemaLocation) throws(SchemaError) -> Int {
        if let index = compiled[location] { return index }
        guard let value = value(at: location) else {
            throw SchemaError(message: "missing subschema", schemaLocation: absolute(location))
        }
        let index = nodes.count
        nodes.append(.placeholder)
        compiled[location] = index
        let scanInfo = info(at: location)
        let resource = try resourceID(for: scanInfo.resourceURI)
        let absoluteLocation = Self.absoluteLocation(
            resourceURI: scanInfo.resourceURI, pointer: scanInfo.resourcePointer)
        switch value {
        case .bool(let flag):
            nodes[index] = SchemaNode(
                body: .boolean(flag), location: absoluteLocation, resource: resource, tracksEvaluation: false,
                description: nil, errorMessage: nil)
        case .object(let object):
            let keywords = try compileKeywords(object, at: location, info: scanInfo)
            let tracks = keywords.contains { keyword in
                switch keyword {
                case .unevaluatedItems, .unevaluatedProperties: return true
                default: return false
                }
            }
            nodes[index] = SchemaNode(
                body: .keywords(keywords), location: absoluteLocation, resource: resource, tracksEvaluation: tracks,
                description: object["description"]?.stringValue, errorMessage: object["errorMessage"]?.stringValue)
        case .null, .number, .string, .array:
            throw SchemaError(
                message: "a schema must be an object or a boolean, found \(value.typeName) at \(JSONPointer(tokens: location.pointer))",
                schemaLocation: absoluteLocation)
        }
        return index
    }

    private mutating func resourceID(for uri: String) throws(SchemaError) -> Int {
        if let id = resourceIDs[uri] { return id }
        let id = dynamicAnchors.count
        resourceIDs[uri] = id
        dynamicAnchors.append([:])
        // Compile the resource's dynamic anchors now, so evaluation can find them by name.
        for (name, location) in dynamicAnchorLocations[uri] ?? [:] {
            dynamicAnchors[id][name] = try compile(location)
        }
        return id
    }

    func absolute(_ location: SchemaLocation) -> String {
        let scanInfo = info(at: location)
        return Self.absoluteLocation(resourceURI: scanInfo.resourceURI, pointer: scanInfo.resourcePointer)
    }

    func vocabularies(of location: SchemaLocation) -> Vocabularies {
        documentVocabularies[location.document]
    }
}
