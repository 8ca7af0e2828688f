import Testing

@testable import JSONSchema

@Suite("Validation error reports")
struct ValidationReportTests {
    static let schemaText = """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "$id": "https://referral-router.dev/schemas/test",
          "type": "object",
          "required": ["child", "urgency", "consent"],
          "properties": {
            "child": {
              "type": "object",
              "properties": {
                "nhsNumber": {"type": "string", "format": "nhs-number", "description": "NHS number"},
                "dateOfBirth": {"$ref": "#/$defs/date"},
                "givenName": {"type": "string", "maxLength": 5}
              },
              "additionalProperties": false
            },
            "urgency": {
              "type": "object",
              "properties": {"level": {"enum": ["immediate", "urgent", "routine"]}},
              "required": ["level"]
            },
            "consent": {
              "type": "object",
              "properties": {"status": {"enum": ["given", "refused"]}, "reasonText": {"type": "string"}},
              "if": {"properties": {"status": {"const": "refused"}}, "required": ["status"]},
              "then": {"required": ["reasonText"]}
            },
            "household": {"type": "array", "items": {"$ref": "#/$defs/person"}}
          },
          "$defs": {
            "date": {"type": "string", "format": "date"},
            "person": {"type": "object", "required": ["givenName"]}
          }
        }
        """

    static let instanceText = """
        {
          "child": {
            "nhsNumber": "9434765871",
            "dateOfBirth": "2019-02-30",
            "givenName": "Alexandra",
            "nhsNo": "x"
          },
          "urgency": {"level": "soon"},
          "consent": {"status": "refused"},
          "household": [{"givenName": "A"}, {}]
        }
        """

    private func validate() throws -> ValidationResult {
        var options = SchemaOptions()
        options.assertFormats = true
        let schema = try Schema(parsing: Array(Self.schemaText.utf8), options: options)
        let document = try JSONDocument(parsing: Array(Self.instanceText.utf8))
        #expect(!schema.isValid(document.root))
        return schema.validate(document)
    }

    @Test func reportsAllErrorsInDocumentOrderWithLocations() throws {
        let result = try validate()
        #expect(!result.isValid)
        let lines = result.errors.map(\.description)
        #expect(lines == [
            "3:18 /child/nhsNumber [format] child.nhsNumber: 9434765871 is not a valid NHS number: the check digit should be 0",
            #"4:20 /child/dateOfBirth [format] child.dateOfBirth: "2019-02-30" is not a valid date (YYYY-MM-DD)"#,
            "5:18 /child/givenName [maxLength] child.givenName: is 9 characters long; the maximum is 5",
            #"6:14 /child/nhsNo [additionalProperties] child.nhsNo: "nhsNo" is not an allowed field here"#,
            #"8:24 /urgency/level [enum] urgency.level: "soon" is not one of immediate, urgent, routine"#,
            #"9:14 /consent [required] consent: "reasonText" is required when status is refused"#,
            #"10:37 /household/1 [required] household[1]: "givenName" is required"#,
        ])
    }

    @Test func keywordLocationsFollowReferences() throws {
        let result = try validate()
        let date = try #require(result.errors.first { $0.instanceLocation == "/child/dateOfBirth" })
        #expect(date.keywordLocation == "/properties/child/properties/dateOfBirth/$ref/format")
        #expect(date.absoluteKeywordLocation == "https://referral-router.dev/schemas/test#/$defs/date/format")
        #expect(date.keyword == "format")
        #expect(date.sourceLocation == SourceLocation(line: 4, column: 20))

        let reason = try #require(result.errors.first { $0.keyword == "required" && $0.instanceLocation == "/consent" })
        #expect(reason.keywordLocation == "/properties/consent/then/required")
        #expect(reason.absoluteKeywordLocation == "https://referral-router.dev/schemas/test#/properties/consent/then/required")

        let extra = try #require(result.errors.first { $0.keyword == "additionalProperties" })
        #expect(extra.keywordLocation == "/properties/child/additionalProperties")
        #expect(extra.instanceLocation == "/child/nhsNo")

        let member = try #require(result.errors.first { $0.instanceLocation == "/household/1" })
        #expect(member.keywordLocation == "/properties/household/items/$ref/required")
        #expect(member.absoluteKeywordLocation == "https://referral-router.dev/schemas/test#/$defs/person/required")
    }

    @Test func validInstanceHasNoErrors() throws {
        var options = SchemaOptions()
        options.assertFormats = true
        let schema = try Schema(parsing: Array(Self.schemaText.utf8), options: options)
        let instance: JSONValue = [
            "child": ["nhsNumber": "943 476 5919", "dateOfBirth": "2019-02-28", "givenName": "Alex"],
            "urgency": ["level": "urgent"], "consent": ["status": "refused", "reasonText": "risk"],
        ]
        #expect(schema.isValid(instance))
        #expect(schema.validate(instance).errors.isEmpty)
    }

    @Test func errorOrderIsStable() throws {
        let first = try validate().errors
        for _ in 0..<5 { #expect(try validate().errors == first) }
    }

    @Test func longStringsAreClippedInMessages() throws {
        let schema = try Schema(["enum": ["a"]])
        let long = String(repeating: "x", count: 500)
        let message = try #require(schema.validate(.string(long)).errors.first?.message)
        #expect(message == "(root): \"" + String(repeating: "x", count: 40) + "…\" is not one of a")
    }

    @Test func typeMessages() throws {
        let schema = try Schema(["properties": ["age": ["type": "integer"], "name": ["type": ["string", "null"]]]])
        let errors = schema.validate(["age": 1.5, "name": 3]).errors.map(\.message)
        #expect(errors == ["age: should be an integer but is a number (1.5)", "name: should be a string or null but is a number (3)"])
        #expect(schema.isValid(["age": 2.0, "name": nil]))
    }

    @Test func exactlyOneOfRequiredAlternatives() throws {
        let schema = try Schema([
            "properties": [
                "child": [
                    "oneOf": [
                        ["required": ["dateOfBirth"]], ["required": ["expectedDeliveryDate"]],
                        ["required": ["estimatedAgeYears"]],
                    ]
                ]
            ]
        ])
        #expect(schema.validate(["child": [:]]).errors.map(\.message) == [
            "child: exactly one of dateOfBirth, expectedDeliveryDate, estimatedAgeYears is required"
        ])
        #expect(schema.validate(["child": ["dateOfBirth": "x", "estimatedAgeYears": 3]]).errors.map(\.message) == [
            "child: only one of dateOfBirth, estimatedAgeYears may be given"
        ])
        #expect(schema.isValid(["child": ["estimatedAgeYears": 3]]))
    }

    @Test func anyOfExplainsTheClosestBranch() throws {
        let schema = try Schema([
            "anyOf": [["type": "string"], ["type": "object", "required": ["code"], "properties": ["code": ["type": "integer"]]]]
        ])
        let errors = schema.validate(["code": "x"]).errors
        #expect(errors.map(\.message) == [
            "(root): does not match any of the 2 allowed alternatives",
            "code: should be an integer but is a string",
        ])
        #expect(errors.map(\.keywordLocation.description) == ["/anyOf", "/anyOf/1/properties/code/type"])
    }

    @Test func ruleErrorMessageReplacesGeneratedOnes() throws {
        let schema = try Schema([
            "if": ["properties": ["level": ["const": "immediate"]]],
            "then": ["required": ["policeContacted"]],
            "errorMessage": "say whether the police were contacted for an immediate referral",
        ])
        #expect(schema.validate(["level": "immediate"]).errors.map(\.message) == [
            "(root): say whether the police were contacted for an immediate referral"
        ])
    }

    @Test func schemaErrorsNameTheirLocation() {
        #expect {
            try Schema(["$id": "https://example.org/s", "properties": ["a": ["minLength": -1]]])
        } throws: { error in
            guard let error = error as? SchemaError else { return false }
            return error.schemaLocation == "https://example.org/s#/properties/a/minLength"
                && error.message == "minLength must be a non-negative integer at /properties/a/minLength"
        }
        #expect(throws: SchemaError.self) { try Schema(["$ref": "#/$defs/missing"]) }
        #expect(throws: SchemaError.self) { try Schema(["$ref": "https://elsewhere.example/schema"]) }
        #expect(throws: SchemaError.self) { try Schema(["type": "text"]) }
        #expect(throws: SchemaError.self) { try Schema(parsing: Array("{\"type\": }".utf8)) }
    }

    @Test func remoteDocumentsComeOnlyFromOptions() throws {
        var options = SchemaOptions()
        options.remoteDocuments["https://example.org/defs.json"] = ["$defs": ["code": ["type": "string", "maxLength": 3]]]
        let schema = try Schema(["$ref": "https://example.org/defs.json#/$defs/code"], options: options)
        #expect(schema.isValid("abc"))
        #expect(!schema.isValid("abcd"))
        // The 2020-12 meta-schema is built in.
        let meta = try Schema(["$ref": "https://json-schema.org/draft/2020-12/schema"])
        #expect(meta.isValid(["type": "string"]))
        #expect(!meta.isValid(["type": 12]))
    }

    @Test func schemaIdIsExposed() throws {
        #expect(try Schema(["$id": "https://example.org/s"]).id == "https://example.org/s")
        #expect(try Schema([:]).id == nil)
    }
}
