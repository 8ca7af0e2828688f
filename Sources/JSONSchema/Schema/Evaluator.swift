/// Walks the compiled node graph over one instance.
///
/// Two modes share this code: `reporting == false` answers only valid/invalid, stops at the
/// first failure and builds no error values or paths (the `isValid` fast path);
/// `reporting == true` visits everything and records every error with its locations.
struct Evaluator {
    let schema: CompiledSchema
    let nodes: [SchemaNode]
    var reporting: Bool
    var errors: [PendingError] = []
    /// Instance path (tokens and member positions), and evaluation path, kept only when reporting.
    var instanceTokens: [String] = []
    var instancePositions: [Int] = []
    var keywordTokens: [String] = []
    /// The applicator keyword that led to each level of `keywordTokens` (names `false`-schema errors).
    var applicators: [String] = []
    /// Resources entered, outermost first (for `$dynamicRef`).
    var dynamicScope: [Int] = []
    /// Nodes being evaluated right now. A schema whose references loop without moving into the
    /// instance (`{"$ref": "#"}`) would otherwise recurse until the stack overflows.
    var depth = 0
    static let maxDepth = 400

    struct PendingError {
        var error: ValidationError
        /// Member/element positions along the instance path: document order.
        var order: [Int]
    }

    init(schema: CompiledSchema, reporting: Bool) {
        self.schema = schema
        self.nodes = schema.nodes
        self.reporting = reporting
    }

    /// Evaluates node `index` against `instance`. When `evaluated` is non-nil, the members or
    /// items this (valid) evaluation covered are added to it.
    mutating func evaluate(_ index: Int, _ instance: JSONValue, _ evaluated: inout EvaluatedSet?) -> Bool {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth {
            if reporting {
                report(
                    nodes[index], keyword: nil,
                    message: "cannot be validated: the schema's references loop or nest too deeply here")
            }
            return false
        }
        // Fields are read in place: copying the whole node would retain all its strings.
        let keywords: [SchemaKeyword]
        switch nodes[index].body {
        case .boolean(let flag):
            if !flag && reporting {
                report(nodes[index], keyword: nil, message: "no value is allowed here")
            }
            return flag
        case .keywords(let list):
            keywords = list
        }
        let resource = nodes[index].resource
        let entersResource = dynamicScope.last != resource
        if entersResource { dynamicScope.append(resource) }
        defer { if entersResource { dynamicScope.removeLast() } }

        var local: EvaluatedSet? = (evaluated != nil || nodes[index].tracksEvaluation) ? EvaluatedSet() : nil
        // Iterating through the buffer borrows each keyword instead of copying (and retaining) it.
        let valid = keywords.withUnsafeBufferPointer { buffer in
            var valid = true
            for position in buffer.indices {
                if !evaluate(buffer[position], of: index, instance, &local) {
                    valid = false
                    if !reporting { return false }
                }
            }
            return valid
        }
        if valid, let local, evaluated != nil {
            evaluated?.formUnion(local)
        }
        return valid
    }

    /// Evaluates `index` in place (same instance location) under the keyword path
    /// `keyword[/detail]` (`detailIndex` is a detail given as a number, formatted only when
    /// reporting: the fast path must not allocate).
    mutating func evaluateInPlace(
        _ index: Int, _ instance: JSONValue, _ evaluated: inout EvaluatedSet?, keyword: String,
        detail: String? = nil, detailIndex: Int? = nil
    ) -> Bool {
        let pushed = reporting ? pushKeyword(keyword, detail: detail, detailIndex: detailIndex) : 0
        var child: EvaluatedSet? = evaluated != nil ? EvaluatedSet() : nil
        let valid = evaluate(index, instance, &child)
        if pushed > 0 { popKeyword(pushed) }
        if valid, let child { evaluated?.formUnion(child) }
        return valid
    }

    /// Evaluates `index` on a member (`memberKey`) or element (nil key) of the instance.
    mutating func evaluateChild(
        _ index: Int, _ child: JSONValue, memberKey: String?, position: Int, keyword: String, detail: String? = nil,
        detailIndex: Int? = nil
    ) -> Bool {
        var pushed = 0
        if reporting {
            pushed = pushKeyword(keyword, detail: detail, detailIndex: detailIndex)
            instanceTokens.append(memberKey ?? String(position))
            instancePositions.append(position)
        }
        var none: EvaluatedSet? = nil
        let valid = evaluate(index, child, &none)
        if reporting {
            popKeyword(pushed)
            instanceTokens.removeLast()
            instancePositions.removeLast()
        }
        return valid
    }

    private mutating func pushKeyword(_ keyword: String, detail: String?, detailIndex: Int?) -> Int {
        keywordTokens.append(keyword)
        applicators.append(keyword)
        if let detail {
            keywordTokens.append(detail)
            return 2
        }
        if let detailIndex {
            keywordTokens.append(String(detailIndex))
            return 2
        }
        return 1
    }

    private mutating func popKeyword(_ count: Int) {
        keywordTokens.removeLast(count)
        applicators.removeLast()
    }

    /// Runs `body` without recording errors (probing a branch), restoring the mode afterwards.
    mutating func probe(_ index: Int, _ instance: JSONValue, _ evaluated: inout EvaluatedSet?) -> Bool {
        let wasReporting = reporting
        reporting = false
        defer { reporting = wasReporting }
        var child: EvaluatedSet? = evaluated != nil ? EvaluatedSet() : nil
        let valid = evaluate(index, instance, &child)
        if valid, let child { evaluated?.formUnion(child) }
        return valid
    }

    /// Evaluates a branch in reporting mode and returns its errors without keeping them.
    mutating func branchErrors(_ index: Int, _ instance: JSONValue, keyword: String, detailIndex: Int) -> [PendingError] {
        let mark = errors.count
        let wasReporting = reporting
        reporting = true
        let pushed = pushKeyword(keyword, detail: nil, detailIndex: detailIndex)
        var none: EvaluatedSet? = nil
        _ = evaluate(index, instance, &none)
        popKeyword(pushed)
        reporting = wasReporting
        let produced = Array(errors[mark...])
        errors.removeSubrange(mark...)
        return produced
    }

    // MARK: - Reporting

    /// Records an error at the current instance location. `keyword` nil means the node itself
    /// (a `false` schema): the keyword is the applicator that led here.
    mutating func report(_ node: SchemaNode, keyword: String?, suffix: [String] = [], message: String) {
        var keywordPath = keywordTokens
        var absolute = node.location
        let name: String
        if let keyword {
            keywordPath.append(keyword)
            keywordPath.append(contentsOf: suffix)
            for token in [keyword] + suffix { absolute += "/" + JSONPointer.escape(token) }
            name = keyword
        } else {
            name = applicators.last ?? "false"
        }
        let instance = JSONPointer(tokens: instanceTokens)
        errors.append(
            PendingError(
                error: ValidationError(
                    instanceLocation: instance, keywordLocation: JSONPointer(tokens: keywordPath),
                    absoluteKeywordLocation: absolute, keyword: name,
                    message: "\(instance.dottedPath): \(message)"),
                order: instancePositions))
    }

    /// Records an error about a member or element of the current instance.
    mutating func reportChild(
        _ node: SchemaNode, keyword: String, suffix: [String] = [], token: String, position: Int, message: String
    ) {
        instanceTokens.append(token)
        instancePositions.append(position)
        report(node, keyword: keyword, suffix: suffix, message: message)
        instanceTokens.removeLast()
        instancePositions.removeLast()
    }

    /// The errors in document order of their instance location, then by keyword location.
    static func sorted(_ pending: [PendingError]) -> [ValidationError] {
        pending.enumerated().sorted { left, right in
            let a = left.element
            let b = right.element
            if a.order != b.order { return a.order.lexicographicallyPrecedes(b.order) }
            let keywordA = a.error.keywordLocation.description
            let keywordB = b.error.keywordLocation.description
            if keywordA != keywordB { return keywordA < keywordB }
            return left.offset < right.offset
        }.map(\.element.error)
    }
}
