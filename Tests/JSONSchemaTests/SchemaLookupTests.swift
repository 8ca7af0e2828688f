import Testing

@testable import JSONSchema

@Suite("Schema path lookup and hostile schemas")
struct SchemaLookupTests {
    static let schema: JSONValue = [
        "$id": "https://example.org/referral",
        "type": "object",
        "properties": [
            "child": ["$ref": "#/$defs/child", "description": "The child"],
            "household": ["type": "array", "items": ["$ref": "#/$defs/person"]],
            "pair": ["prefixItems": [["type": "string"], ["properties": ["x": ["description": "X"]]]]],
            "closed": ["properties": ["a": true], "additionalProperties": false],
            "extras": ["additionalProperties": ["type": "object", "properties": ["note": ["description": "Note"]]]],
            "patterned": ["patternProperties": ["^x-": ["description": "Extension"]]],
        ],
        "allOf": [
            ["if": ["properties": ["kind": ["const": "a"]]], "then": ["properties": ["onlyA": ["description": "Only for a"]]]]
        ],
        "$defs": [
            "child": [
                "properties": [
                    "nhsNumber": ["type": "string", "description": "NHS number"],
                    "address": ["properties": ["postcode": ["description": "Postcode"]]],
                ]
            ],
            "person": ["properties": ["givenName": ["description": "Given name"]]],
        ],
    ]

    @Test func definedPathsAndDescriptions() throws {
        let schema = try Schema(Self.schema)
        #expect(schema.lookup(path: []) == .defined(description: nil))
        #expect(schema.lookup(path: ["child"]) == .defined(description: "The child"))
        #expect(schema.lookup(path: ["child", "nhsNumber"]) == .defined(description: "NHS number"))
        #expect(schema.lookup(path: ["child", "address", "postcode"]) == .defined(description: "Postcode"))
        #expect(schema.lookup(path: ["household", "*", "givenName"]) == .defined(description: "Given name"))
        #expect(schema.lookup(path: ["pair", "*", "x"]) == .defined(description: "X"))
        #expect(schema.lookup(path: ["extras", "anything", "note"]) == .defined(description: "Note"))
        #expect(schema.lookup(path: ["patterned", "x-custom"]) == .defined(description: "Extension"))
        #expect(schema.lookup(path: ["onlyA"]) == .defined(description: "Only for a"))
        #expect(schema.lookup(path: ["closed", "a"]) == .defined(description: nil))
    }

    @Test func undefinedPaths() throws {
        let schema = try Schema(Self.schema)
        #expect(schema.lookup(path: ["child", "nhsNumbr"]) == .undefined)
        #expect(schema.lookup(path: ["household", "givenName"]) == .undefined)  // needs "*"
        #expect(schema.lookup(path: ["closed", "b"]) == .undefined)  // additionalProperties: false
        #expect(schema.lookup(path: ["patterned", "y-custom"]) == .undefined)
        #expect(schema.lookup(path: ["nothing"]) == .undefined)
    }

    @Test func lookupSurvivesRecursiveSchemas() throws {
        let schema = try Schema([
            "$defs": ["node": ["properties": ["next": ["$ref": "#/$defs/node"], "value": ["description": "V"]]]],
            "$ref": "#/$defs/node",
        ])
        #expect(schema.lookup(path: ["next", "next", "next", "value"]) == .defined(description: "V"))
    }

    @Test func referenceLoopsFailInsteadOfCrashing() throws {
        let schema = try Schema([
            "$defs": ["a": ["$ref": "#/$defs/b"], "b": ["$ref": "#/$defs/a"]], "$ref": "#/$defs/a",
        ])
        #expect(!schema.isValid(1))
        let errors = schema.validate(1).errors
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("loop") == true)
    }

    @Test func deeplyNestedInstanceWithinParseLimits() throws {
        let depth = 60
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let document = try JSONDocument(parsing: Array(text.utf8))
        let schema = try Schema(["$defs": ["nest": ["items": ["$ref": "#/$defs/nest"]]], "$ref": "#/$defs/nest"])
        #expect(schema.isValid(document.root))
    }

    @Test func validationIsSafeFromManyTasks() async throws {
        let schema = try Schema(["properties": ["n": ["type": "integer", "minimum": 0]]])
        let results = await withTaskGroup(of: Bool.self) { group in
            for index in 0..<16 {
                group.addTask { schema.isValid(["n": .number(JSONNumber(index % 2 == 0 ? index : -index))]) }
            }
            var count = 0
            for await valid in group where valid { count += 1 }
            return count
        }
        #expect(results == 8)
    }
}
