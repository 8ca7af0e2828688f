import Foundation
import JSONSchema
import Testing
@testable import ReferralRouter
import TestSupport

/// Property-based: random referrals shaped by the schema itself (valid and invalid, every enum value
/// reachable), routed by the shipped policy. Two properties must hold for every one:
/// - no destination ever receives a field outside its allow-list (and what it receives is exactly
///   the policy's projection, in JSON or FHIR);
/// - every readable referral whose urgency is immediate reaches the front door.
struct RoutingPropertyTests {
    static let iterations = 600

    @Test func noDestinationEverReceivesAFieldOutsideItsAllowListAndImmediateAlwaysReachesTheFrontDoor() throws {
        let configuration = try #require(RoutingExamplesTests.configuration)
        let schemaText = try #require(FileManager.default.contents(atPath: TestPaths.packageRoot + "/routes/referral.schema.json"))
        let schema = try JSONDocument(parsing: [UInt8](schemaText)).root
        let examples = try FileManager.default.contentsOfDirectory(atPath: TestPaths.packageRoot + "/routes/examples/valid").sorted()
            .map { try JSONDocument(parsing: try RouterSandbox.example("valid/" + $0)).root }
        var generator = ReferralGenerator(schema: schema, seed: 0x5EED_2026, examples: examples)
        let preparer = ReferralPreparer(schema: configuration.schema, router: Router(policy: configuration.routing))
        var counts = (valid: 0, immediate: 0, deliveries: 0, fhir: 0)

        for iteration in 0..<Self.iterations {
            let referral = generator.referral()
            let bytes = referral.serialized()
            let record = preparer.prepare(bytes: bytes, agency: "oakfield-primary", source: .folder(name: "r\(iteration).json"),
                                          receivedAt: Timestamp(millisecondsSinceEpoch: 1_764_000_000_000))
            if record.issues.isEmpty { counts.valid += 1 }
            for delivery in record.decision.deliveries {
                counts.deliveries += 1
                if delivery.rule == "safety-net" {
                    #expect(delivery.destination == "la-front-door", "the safety net only ever sends to the front door")
                    continue
                }
                let policy = try #require(configuration.routing.fieldPolicy(for: delivery.destination))
                let projected = policy.project(referral).value
                let payload = try JSONDocument(parsing: delivery.payload).root
                switch delivery.format {
                case .json:
                    let sent = try #require(payload["referral"])
                    #expect(sent == projected, "iteration \(iteration): \(delivery.destination) got exactly its projection")
                    for pointer in Self.leafPointers(sent) where !Self.isAllowed(pointer, by: policy.allow) {
                        Issue.record("iteration \(iteration): \(delivery.destination) received \(pointer), outside its allow-list")
                    }
                case .fhir:
                    counts.fhir += 1
                    // The bundle is a function of the projection alone: nothing withheld can be in it.
                    let envelope = PayloadEnvelope(referralId: record.referralId, routedAt: record.receivedAt, rule: delivery.rule,
                                                   basis: delivery.basis, basisDescription: configuration.routing.bases[delivery.basis],
                                                   sourceAgency: "oakfield-primary", idempotencyKey: delivery.idempotencyKey,
                                                   destination: delivery.destination, safetyNet: nil, validationIssues: [],
                                                   priority: record.decision.priority)
                    // (FHIRBundle.make reads nothing but its two arguments; routing facts in the envelope
                    // can coincide with withheld values, e.g. the basis "consent", so values are not compared.)
                    #expect(payload == FHIRBundle.make(referral: projected, envelope: envelope))
                }
            }
            if referral["urgency"]?["level"] == "immediate" {
                counts.immediate += 1
                #expect(record.decision.deliveries.contains { $0.destination == "la-front-door" },
                        "iteration \(iteration): an immediate referral must reach the front door (\(record.decision.receipt))")
            }
        }
        // The generator must actually exercise the policy.
        #expect(counts.valid > Self.iterations / 5, "valid: \(counts.valid)")
        #expect(counts.immediate > Self.iterations / 10, "immediate: \(counts.immediate)")
        #expect(counts.fhir > 20, "fhir deliveries: \(counts.fhir)")
        #expect(counts.deliveries > Self.iterations / 2, "deliveries: \(counts.deliveries)")
    }

    static func leafPointers(_ value: JSONValue, _ tokens: [String] = []) -> [[String]] {
        switch value {
        case .object(let object):
            return object.isEmpty ? [tokens] : object.flatMap { leafPointers($0.value, tokens + [$0.key]) }
        case .array(let elements):
            return elements.isEmpty ? [tokens] : elements.enumerated().flatMap { leafPointers($1, tokens + [String($0)]) }
        default:
            return [tokens]
        }
    }

    static func isAllowed(_ pointer: [String], by allow: [FieldPath]) -> Bool {
        allow.contains { path in
            guard path.components.count <= pointer.count else { return false }
            return zip(path.components, pointer).allSatisfy { component, token in
                switch component {
                case .key(let name): name == token
                case .anyElement: Int(token) != nil
                }
            }
        }
    }
}

/// Random referrals shaped by the schema: objects take most of their properties (required ones
/// nearly always), enums pick any value, formats get plausible or broken values. Seeded, so a
/// failure reproduces.
struct ReferralGenerator {
    let schema: JSONValue
    var random: ReferralGeneratorRandom

    let examples: [JSONValue]

    init(schema: JSONValue, seed: UInt64, examples: [JSONValue]) {
        self.schema = schema
        self.random = ReferralGeneratorRandom(seed: seed)
        self.examples = examples
    }

    /// Half built from the schema's shape alone (mostly invalid: the cross-field rules rarely hold by
    /// chance), half a valid example with 1–4 fields replaced by values drawn from the schema at that
    /// path, or removed (often still valid, reaching every rule).
    mutating func referral() -> JSONValue {
        guard !examples.isEmpty, chance(0.5) else { return value(for: schema, depth: 0) }
        var referral = examples[Int.random(in: 0..<examples.count, using: &random)]
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let leaves = RoutingPropertyTests.leafPointers(referral).filter { !$0.isEmpty }
            guard !leaves.isEmpty else { break }
            var tokens = leaves[Int.random(in: 0..<leaves.count, using: &random)]
            // Often mutate a whole parent (an object or array) rather than a leaf.
            if tokens.count > 1, chance(0.3) { tokens.removeLast() }
            let pointer = JSONPointer(tokens: tokens)
            if chance(0.15) {
                _ = referral.removeValue(at: pointer)
            } else if let node = schemaNode(at: tokens) {
                referral.setValue(value(for: node, depth: tokens.count), at: tokens[...])
            }
        }
        return referral
    }

    /// The schema node describing the instance at `tokens` (numeric tokens step into `items`).
    mutating func schemaNode(at tokens: [String]) -> JSONValue? {
        var node = resolve(schema)
        for token in tokens {
            if Int(token) != nil, let items = node["items"] {
                node = resolve(items)
            } else if let property = node["properties"]?[token] {
                node = resolve(property)
            } else {
                return nil
            }
        }
        return node
    }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &random) < probability }

    mutating func resolve(_ node: JSONValue) -> JSONValue {
        guard let reference = node["$ref"]?.stringValue, reference.hasPrefix("#/$defs/") else { return node }
        let name = String(reference.dropFirst("#/$defs/".count))
        guard let target = schema["$defs"]?[name] else { return node }
        // Keep the referring node's own keywords (enum, format) over the target's.
        var merged = target.objectValue ?? JSONObject()
        for (key, value) in node.objectValue ?? JSONObject() where key != "$ref" { merged[key] = value }
        return resolve(.object(merged))
    }

    mutating func value(for rawNode: JSONValue, depth: Int) -> JSONValue {
        let node = resolve(rawNode)
        if let constant = node["const"] { return constant }
        if let options = node["enum"]?.arrayValue, !options.isEmpty { return options[Int.random(in: 0..<options.count, using: &random)] }
        if let branches = (node["oneOf"] ?? node["anyOf"])?.arrayValue, !branches.isEmpty, node["type"] == nil, node["properties"] == nil {
            return value(for: branches[Int.random(in: 0..<branches.count, using: &random)], depth: depth + 1)
        }
        let type = node["type"]?.stringValue ?? (node["properties"] != nil ? "object" : "string")
        switch type {
        case "object":
            guard depth < 8 else { return .object(JSONObject()) }
            let required = Set(node["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            var object = JSONObject()
            for (key, propertySchema) in node["properties"]?.objectValue ?? JSONObject() {
                if chance(required.contains(key) ? 0.97 : 0.6) { object[key] = value(for: propertySchema, depth: depth + 1) }
            }
            return .object(object)
        case "array":
            let count = Int.random(in: 0...3, using: &random)
            var elements: [JSONValue] = []
            for _ in 0..<count {
                let element = value(for: node["items"] ?? .object(JSONObject()), depth: depth + 1)
                if !elements.contains(element) { elements.append(element) }
            }
            if (node["minItems"]?.numberValue?.intValue ?? 0) > elements.count, let items = node["items"] {
                elements.append(value(for: items, depth: depth + 1))
            }
            return .array(elements)
        case "boolean":
            return .bool(chance(0.5))
        case "integer", "number":
            return .number(JSONNumber(Int.random(in: 0...17, using: &random)))
        default:
            return .string(string(format: node["format"]?.stringValue))
        }
    }

    mutating func string(format: String?) -> String {
        let broken = chance(0.03)
        switch format {
        case "date": return broken ? "2019-02-30" : "20\(Int.random(in: 10...25, using: &random))-0\(Int.random(in: 1...9, using: &random))-1\(Int.random(in: 0...9, using: &random))"
        case "date-time": return "2026-11-2\(Int.random(in: 0...9, using: &random))T10:15:00Z"
        case "uuid": return UUID().uuidString.lowercased()
        case "email": return broken ? "not an email" : "person\(Int.random(in: 1...99, using: &random))@example.org"
        case "nhs-number": return broken ? "9434765871" : ["9991590838", "9990012345", "9991234560"][Int.random(in: 0...2, using: &random)]
        case "upn": return broken ? "A801200005001" : "B801200005001"
        case "uk-postcode": return broken ? "NOT A CODE" : ["LS8 3RT", "M1 1AE", "ZZ99 3VZ"][Int.random(in: 0...2, using: &random)]
        default:
            let words = ["Ava", "Brennan", "concern", "bruising", "Tomasz", "school", "Leeds", "visit", "worried", "0113 496 0555"]
            return (0..<Int.random(in: 1...6, using: &random)).map { _ in words[Int.random(in: 0..<words.count, using: &random)] }.joined(separator: " ")
        }
    }
}

/// A small, fast, seedable generator (Steele et al.'s ReferralGeneratorRandom).
struct ReferralGeneratorRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension JSONValue {
    /// Sets the value at `tokens`, if its parent exists.
    mutating func setValue(_ newValue: JSONValue, at tokens: ArraySlice<String>) {
        guard let first = tokens.first else {
            self = newValue
            return
        }
        switch self {
        case .object(var object):
            guard var child = object[first] else { return }
            child.setValue(newValue, at: tokens.dropFirst())
            object[first] = child
            self = .object(object)
        case .array(var elements):
            guard let index = Int(first), elements.indices.contains(index) else { return }
            elements[index].setValue(newValue, at: tokens.dropFirst())
            self = .array(elements)
        default:
            return
        }
    }
}

extension JSONValue {
    /// Removes the value at `pointer`; true if something was removed.
    mutating func removeValue(at pointer: JSONPointer) -> Bool {
        guard let first = pointer.tokens.first else { return false }
        let rest = JSONPointer(tokens: Array(pointer.tokens.dropFirst()))
        switch self {
        case .object(var object):
            if rest.tokens.isEmpty {
                guard object[first] != nil else { return false }
                object[first] = nil
                self = .object(object)
                return true
            }
            guard var child = object[first] else { return false }
            let removed = child.removeValue(at: rest)
            object[first] = child
            self = .object(object)
            return removed
        case .array(var elements):
            guard let index = Int(first), elements.indices.contains(index) else { return false }
            if rest.tokens.isEmpty {
                elements.remove(at: index)
                self = .array(elements)
                return true
            }
            let removed = elements[index].removeValue(at: rest)
            self = .array(elements)
            return removed
        default:
            return false
        }
    }
}
