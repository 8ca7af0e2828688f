import JSONSchema

extension RoutingPolicy {
    /// Reads `[[rule]]`, `[[fields]]`, `[basis.*]`, `[safety_net]`, `[consent]`, `[priority]` and
    /// `[ordering]` from the route files and checks them against the destinations and the schema.
    static func read(files: [TOMLFile], destinations: [DestinationConfiguration], schema: ReferralSchema?,
                     problems: ProblemLog, checkCoverage: Bool = true) -> RoutingPolicy {
        var rules: [RouteRule] = []
        var policies: [FieldPolicy] = []
        var bases: [String: String] = [:]
        var safetyNetTable: ConfigTable?
        var consentTable: ConfigTable?
        var priorityTable: ConfigTable?
        var orderings: [FieldPath: [String]] = [:]
        var ruleTables: [ConfigTable] = []
        var policyTables: [ConfigTable] = []

        for file in files {
            let root = ConfigTable.root(of: file, problems: problems)
            if let basisTable = root.table("basis") {
                for id in basisTable.keys {
                    guard let entry = basisTable.table(id) else { continue }
                    if bases[id] != nil { entry.problem("", "basis \"\(id)\" is defined twice") }
                    bases[id] = entry.requiredString("description") ?? id
                    entry.finish()
                }
                basisTable.finish()
            }
            // One of each across all route files: a second one would silently replace the first.
            func single(_ name: String, _ slot: inout ConfigTable?) {
                guard let table = root.table(name) else { return }
                if let first = slot {
                    table.problem("", "[\(name)] is already defined in \(first.file.displayName); define it once")
                }
                slot = table
            }
            single("safety_net", &safetyNetTable)
            single("consent", &consentTable)
            single("priority", &priorityTable)
            if let table = root.table("ordering") {
                for key in table.keys {
                    guard case .success(let path) = FieldPath.parse(key) else {
                        table.problem(key, "is not a field path")
                        continue
                    }
                    if let schema, !schema.defines(path) { table.problem(key, "\"\(key)\" is not a field the schema defines") }
                    orderings[path] = table.stringArray(key)
                }
                table.finish()
            }
            ruleTables += root.tables("rule")
            policyTables += root.tables("fields")
            root.finish()
        }

        let destinationTypes = Dictionary(destinations.map { ($0.id, $0.partnerType) }, uniquingKeysWith: { first, _ in first })
        let destinationFormats = Dictionary(destinations.map { ($0.id, $0.format) }, uniquingKeysWith: { first, _ in first })
        let checker = PolicyChecker(schema: schema, destinations: Set(destinationTypes.keys), bases: bases)

        var names: Set<String> = []
        for table in ruleTables {
            guard let rule = readRule(table, earlierRules: names, checker: checker) else {
                table.finish()
                continue
            }
            if !names.insert(rule.name).inserted { table.problem("name", "rule \"\(rule.name)\" is defined twice") }
            rules.append(rule)
            table.finish()
        }
        for table in policyTables {
            if let policy = readFieldPolicy(table, destinationTypes: destinationTypes, checker: checker) {
                if policies.contains(where: { $0.target == policy.target }) {
                    table.problem("", "a second field policy for \(policy.target)")
                }
                policies.append(policy)
            }
            table.finish()
        }

        let consent = readConsent(consentTable, checker: checker)
        let priority = readPriority(priorityTable, checker: checker)
        let safetyNet = safetyNetTable.flatMap { readSafetyNet($0, checker: checker) }

        let policy = RoutingPolicy(rules: rules, fieldPolicies: policies, bases: bases, safetyNet: safetyNet,
                                   consent: consent, priority: priority, orderings: orderings,
                                   destinationTypes: destinationTypes, destinationFormats: destinationFormats)
        if checkCoverage {
            policy.checkCoverage(destinations: destinations, ruleTables: ruleTables, files: files, problems: problems)
        }
        policy.checkStopConflicts(ruleTables: ruleTables, problems: problems)
        return policy
    }

    // MARK: - Rules

    private static func readRule(_ table: ConfigTable, earlierRules: Set<String>, checker: PolicyChecker) -> RouteRule? {
        let name = table.requiredString("name") ?? ""
        let title = table.string("title", default: name)
        let stop = table.bool("stop", default: false)
        let condition = table.node("when").map { readCondition($0, table: table, key: "when", checker: checker) } ?? {
            table.problem("when", "is required (use `when = { always = true }` for a catch-all rule)")
            return Condition.always
        }()
        for reference in condition.referencedRules where !earlierRules.contains(reference) {
            table.problem("when", "refers to rule \"\(reference)\", which is not defined before this rule (matched reads earlier rules only)")
        }
        let returnCode = table.string("return")
        let sendTo = table.stringArray("send_to")
        let scoped = table.stringArray("send_to_if_in_consent_scope")
        let requiresConsent = table.bool("requires_consent", default: false)
        let reason = table.string("reason")
        var basis = table.string("basis") ?? ""
        let action: RouteRule.Action
        if let returnCode {
            guard let code = ReceiptCode(rawValue: returnCode), [.returned, .consentRequired].contains(code) else {
                table.problem("return", "must be RETURNED or CONSENT_REQUIRED")
                return nil
            }
            if !sendTo.isEmpty || !scoped.isEmpty { table.problem("return", "a returning rule cannot also send (remove send_to)") }
            action = .returnToReferrer(code: code, reason: reason ?? "Returned to the referrer by rule \(name).")
            if basis.isEmpty { basis = "none" }
        } else {
            if sendTo.isEmpty, scoped.isEmpty { table.problem("send_to", "a rule must send somewhere or `return`") }
            for (index, id) in (sendTo + scoped).enumerated() where !checker.destinations.contains(id) {
                let key = index < sendTo.count ? "send_to" : "send_to_if_in_consent_scope"
                table.problem(key, "names unknown destination \"\(id)\"")
            }
            if basis.isEmpty {
                table.problem("basis", "is required for a sending rule (the lawful basis recorded with each delivery)")
            } else if checker.bases[basis] == nil {
                table.problem("basis", "\"\(basis)\" is not declared under [basis.\(basis)]")
            }
            if reason != nil, !requiresConsent { table.problem("reason", "only a returning or consent-gated rule has a reason") }
            action = .send(destinations: sendTo, consentScoped: scoped, requiresConsent: requiresConsent)
        }
        let location = "\(table.file.displayName):\(table.line(of: "name").map(String.init) ?? "?")"
        return RouteRule(name: name, title: title, condition: condition, action: action, basis: basis, stop: stop,
                         consentReason: requiresConsent ? reason : nil, location: location)
    }

    /// `{ field = "...", equals = ... }`, `{ all = [...] }`, `{ any = [...] }`, `{ not = {...} }`,
    /// `{ matched = "R2" }`, `{ always = true }`.
    static func readCondition(_ node: ConfigNode, table: ConfigTable, key: String, checker: PolicyChecker) -> Condition {
        guard case .table(let members) = node else {
            table.problem(key, "a condition must be a table such as { field = \"urgency.level\", equals = \"immediate\" }")
            return .always
        }
        let keys = Set(members.map(\.key))
        func member(_ name: String) -> ConfigNode? { members.first { $0.key == name }?.value }
        func list(_ name: String) -> [Condition] {
            guard case .array(let elements)? = member(name) else {
                table.problem(key, "\(name) must be an array of conditions")
                return []
            }
            return elements.enumerated().map { readCondition($1, table: table, key: "\(key).\(name)[\($0)]", checker: checker) }
        }
        if keys == ["all"] { return .all(list("all")) }
        if keys == ["any"] { return .any(list("any")) }
        if keys == ["not"], let inner = member("not") { return .not(readCondition(inner, table: table, key: "\(key).not", checker: checker)) }
        if keys == ["matched"] {
            guard case .string(let rule)? = member("matched") else {
                table.problem(key, "matched must name a rule")
                return .always
            }
            return .matched(rule)
        }
        if keys == ["always"] {
            guard case .boolean(true)? = member("always") else {
                table.problem(key, "always takes only true (a rule that must never hold should be removed)")
                return .always
            }
            return .always
        }
        guard case .string(let fieldText)? = member("field") else {
            table.problem(key, "a condition needs `field` and one operator, or all/any/not/matched")
            return .always
        }
        let operators = keys.subtracting(["field"])
        guard operators.count == 1, let op = operators.first, let operand = member(op) else {
            table.problem(key, "a field condition takes exactly one of equals, one_of, any_of, exists, before, after, at_least, at_most")
            return .always
        }
        guard let path = checker.field(fieldText, table: table, key: "\(key).field") else { return .always }
        switch op {
        case "equals":
            return .equals(path, jsonValue(operand, table: table, key: "\(key).equals"))
        case "one_of", "any_of":
            guard case .array(let elements) = operand else {
                table.problem(key, "\(op) must be an array")
                return .always
            }
            let values = elements.map { jsonValue($0, table: table, key: "\(key).\(op)") }
            return op == "one_of" ? .oneOf(path, values) : .anyOf(path, values)
        case "exists":
            guard case .boolean(let flag) = operand else {
                table.problem(key, "exists must be true or false")
                return .always
            }
            return .exists(path, flag)
        case "before", "after", "at_least", "at_most":
            let comparison = Condition.Comparison(rawValue: op) ?? .before
            return .compare(path, comparison, jsonValue(operand, table: table, key: "\(key).\(op)"))
        default:
            table.problem(key, "unknown operator \"\(op)\"")
            return .always
        }
    }

    static func jsonValue(_ node: ConfigNode, table: ConfigTable, key: String) -> JSONValue {
        switch node {
        case .string(let text): return .string(text)
        case .integer(let number): return .number(JSONNumber(number))
        case .float(let number): return JSONNumber(number).map(JSONValue.number) ?? .null
        case .boolean(let flag): return .bool(flag)
        case .array(let elements): return .array(elements.map { jsonValue($0, table: table, key: key) })
        case .table, .dateTime:
            table.problem(key, "must be a string, number or boolean")
            return .null
        }
    }

    // MARK: - Field policies

    private static func readFieldPolicy(_ table: ConfigTable, destinationTypes: [String: PartnerType], checker: PolicyChecker) -> FieldPolicy? {
        let destination = table.string("destination")
        let partnerType = table.string("partner_type")
        let target: FieldPolicy.Target
        switch (destination, partnerType) {
        case (let id?, nil):
            if destinationTypes[id] == nil { table.problem("destination", "names unknown destination \"\(id)\"") }
            target = .destination(id)
        case (nil, let type?):
            guard let type = PartnerType(rawValue: type) else {
                table.problem("partner_type", "\"\(type)\" is not one of \(PartnerType.allNames.joined(separator: ", "))")
                return nil
            }
            target = .partnerType(type)
        default:
            table.problem("", "a field policy names exactly one of `destination` or `partner_type`")
            return nil
        }
        let allowTexts = table.stringArray("allow")
        if !table.contains("allow") { table.problem("allow", "is required: the fields this partner may receive") }
        let allow = allowTexts.enumerated().compactMap { index, text in
            text == "*" ? FieldPath.whole : checker.field(text, table: table, key: "allow[\(index)]")
        }
        var truncate: [(path: FieldPath, characters: Int)] = []
        if let truncateTable = table.table("truncate") {
            for key in truncateTable.keys {
                let limit = truncateTable.integer(key, default: 0, range: 1...1_000_000)
                if let path = checker.field(key, table: truncateTable, key: key) { truncate.append((path, limit)) }
            }
            truncateTable.finish()
        }
        var keepValues: [(path: FieldPath, values: [JSONValue])] = []
        if let keepTable = table.table("keep_values") {
            for key in keepTable.keys {
                let values = keepTable.stringArray(key).map(JSONValue.string)
                if let path = checker.field(key, table: keepTable, key: key) { keepValues.append((path, values)) }
            }
            keepTable.finish()
        }
        var mapValues: [(path: FieldPath, mapping: [(from: JSONValue, to: JSONValue)])] = []
        if let mapTable = table.table("map_values") {
            for key in mapTable.keys {
                guard let path = checker.field(key, table: mapTable, key: key), let mappingTable = mapTable.table(key) else { continue }
                let mapping = mappingTable.keys.map { from in (from: JSONValue.string(from), to: JSONValue.string(mappingTable.string(from) ?? "")) }
                mappingTable.finish()
                mapValues.append((path, mapping))
            }
            mapTable.finish()
        }
        var keepElements: [(path: FieldPath, condition: Condition)] = []
        if let keepTable = table.table("keep_elements") {
            for key in keepTable.keys {
                guard let path = checker.field(key, table: keepTable, key: key), let node = keepTable.node(key) else { continue }
                var elementChecker = checker
                elementChecker.prefix = FieldPath(components: path.components + [.anyElement])
                keepElements.append((path, readCondition(node, table: keepTable, key: key, checker: elementChecker)))
            }
            keepTable.finish()
        }
        let withholdListedIn = table.string("withhold_listed_in").flatMap { checker.field($0, table: table, key: "withhold_listed_in") }
        return FieldPolicy(target: target, allow: allow, truncate: truncate, keepValues: keepValues, mapValues: mapValues,
                           keepElements: keepElements, withholdListedIn: withholdListedIn)
    }

    // MARK: - Consent, priority, safety net

    private static func readConsent(_ table: ConfigTable?, checker: PolicyChecker) -> ConsentFields {
        var consent = ConsentFields(status: fieldOrDefault("consent.status"), scope: fieldOrDefault("consent.scope"), given: "given", schemaRule: nil)
        guard let table else { return consent }
        if let text = table.string("status_field"), let path = checker.field(text, table: table, key: "status_field") { consent.status = path }
        if let text = table.string("scope_field"), let path = checker.field(text, table: table, key: "scope_field") { consent.scope = path }
        if let given = table.string("given_value") { consent.given = .string(given) }
        if let rule = table.string("schema_rule") {
            if !rule.contains("#") { table.problem("schema_rule", "must be an absolute schema location with a #/... fragment") }
            consent.schemaRule = rule
        }
        table.finish()
        return consent
    }

    private static func readPriority(_ table: ConfigTable?, checker: PolicyChecker) -> PriorityField {
        var priority = PriorityField(field: fieldOrDefault("urgency.level"), immediate: ["immediate"], urgent: ["urgent"])
        guard let table else { return priority }
        if let text = table.string("field"), let path = checker.field(text, table: table, key: "field") { priority.field = path }
        if table.contains("immediate") { priority.immediate = table.stringArray("immediate").map(JSONValue.string) }
        if table.contains("urgent") { priority.urgent = table.stringArray("urgent").map(JSONValue.string) }
        table.finish()
        return priority
    }

    private static func readSafetyNet(_ table: ConfigTable, checker: PolicyChecker) -> SafetyNet? {
        let destination = table.requiredString("destination")
        let fieldText = table.string("field", default: "urgency.level")
        let values = table.stringArray("values", default: ["immediate"]).map(JSONValue.string)
        let basis = table.string("basis", default: "safeguarding")
        if let destination, !checker.destinations.contains(destination) {
            table.problem("destination", "names unknown destination \"\(destination)\"")
        }
        if checker.bases[basis] == nil { table.problem("basis", "\"\(basis)\" is not declared under [basis.\(basis)]") }
        let path = checker.field(fieldText, table: table, key: "field")
        table.finish()
        guard let destination, let path else { return nil }
        return SafetyNet(destination: destination, field: path, values: values, basis: basis)
    }

    private static func fieldOrDefault(_ text: String) -> FieldPath {
        (try? FieldPath.parse(text).get()) ?? .whole
    }

    // MARK: - Whole-policy checks

    /// Overlapping rules whose stop flags conflict: the same condition with different stop flags (which
    /// is meant?), and a later rule that can never apply because an earlier rule that stops evaluation
    /// holds whenever it does (the same condition, or the later rule requires `matched` on it).
    /// Partial overlaps are legitimate precedence (R6 stops before R7 by design) and are not reported.
    private func checkStopConflicts(ruleTables: [ConfigTable], problems: ProblemLog) {
        guard ruleTables.count == rules.count else { return }
        for (laterIndex, later) in rules.enumerated() {
            for earlier in rules[..<laterIndex] {
                let table = ruleTables[laterIndex]
                if earlier.condition == later.condition {
                    if earlier.stop != later.stop {
                        table.problem("stop", "rule \(later.name) has the same condition as rule \(earlier.name) but a different stop flag; say which is meant")
                    } else if earlier.stop {
                        table.problem("when", "rule \(later.name) can never apply: rule \(earlier.name) has the same condition and stops evaluation")
                    }
                } else if earlier.stop, later.condition.requiresMatch(of: earlier.name) {
                    table.problem("when", "rule \(later.name) can never apply: it requires rule \(earlier.name), which stops evaluation when it holds")
                }
            }
        }
    }

    /// Every destination is reachable and has a field policy; there is a safety net.
    private func checkCoverage(destinations: [DestinationConfiguration], ruleTables: [ConfigTable], files: [TOMLFile], problems: ProblemLog) {
        let reached = Set(rules.flatMap(\.destinationIDs) + (safetyNet.map { [$0.destination] } ?? []))
        let place = files.first
        func report(_ key: String, _ message: String) {
            guard let place else {
                problems.add(ConfigurationProblem(file: "route files", line: nil, key: key, message: message))
                return
            }
            problems.add(file: place, key: key, message)
        }
        if files.isEmpty { report("", "no route files: set [router] route_files") }
        if rules.isEmpty { report("rule", "no [[rule]] is defined: nothing would ever be sent") }
        if safetyNet == nil { report("safety_net", "[safety_net] is required: immediate referrals that are invalid or unrouted must still reach someone") }
        for destination in destinations {
            if !reached.contains(destination.id) {
                report("rule", "destination \"\(destination.id)\" is reached by no rule")
            }
            if fieldPolicy(for: destination.id) == nil {
                report("fields", "destination \"\(destination.id)\" has no field policy (add [[fields]] for it or for partner_type \"\(destination.partnerType.rawValue)\"); nothing is ever sent whole by default")
            }
        }
    }
}

/// Checks names against the schema and configuration while reading.
struct PolicyChecker {
    var schema: ReferralSchema?
    var destinations: Set<String>
    var bases: [String: String]
    /// Conditions on array elements name fields relative to the element; checked under this prefix.
    var prefix = FieldPath.whole

    /// Parses a field path and checks that the schema defines it.
    func field(_ text: String, table: ConfigTable, key: String) -> FieldPath? {
        switch FieldPath.parse(text) {
        case .failure(let error):
            table.problem(key, error.description)
            return nil
        case .success(let path):
            if let schema, !path.components.isEmpty, !schema.defines(FieldPath(components: prefix.components + path.components)) {
                table.problem(key, "\"\(text)\" is not a field the schema defines")
            }
            return path
        }
    }
}
