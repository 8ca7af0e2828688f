import Testing

@testable import JSONSchema

@Suite("Formats")
struct FormatTests {
    /// A schema asserting one format, compiled with format assertion on.
    private func schema(_ format: String) throws -> Schema {
        var options = SchemaOptions()
        options.assertFormats = true
        return try Schema(["format": .string(format)], options: options)
    }

    private func messages(_ format: String, _ value: String) throws -> [String] {
        try schema(format).validate(.string(value)).errors.map(\.message)
    }

    @Test(arguments: ["9434765919", "4010232137", "943 476 5919", "943-476-5919", "9990000026"])
    func validNHSNumbers(value: String) throws {
        #expect(try schema("nhs-number").isValid(.string(value)))
    }

    @Test func invalidNHSNumbersExplainTheCheckDigit() throws {
        #expect(try messages("nhs-number", "9434765871") == [
            "(root): 9434765871 is not a valid NHS number: the check digit should be 0"
        ])
        #expect(try messages("nhs-number", "943476591") == ["(root): 943476591 is not a valid NHS number: it should have 10 digits"])
        #expect(try messages("nhs-number", "94347659AB").count == 1)
        // Sum giving a remainder of 1 means no check digit is possible.
        #expect(try messages("nhs-number", "1000000010") == [
            "(root): 1000000010 is not a valid NHS number: no check digit is possible for its first nine digits"
        ])
    }

    @Test func unassertedFormatsAreAnnotations() throws {
        let schema = try Schema(["format": "nhs-number"])
        #expect(schema.isValid("9434765871"))
        let unknown = try Schema(["format": "no-such-format"])
        #expect(unknown.isValid("anything"))
    }

    @Test func upn() throws {
        let upn = try schema("upn")
        #expect(upn.isValid("B801200005001"))
        #expect(try messages("upn", "A801200005001") == ["(root): A801200005001 is not a valid UPN: the check letter should be B"])
        #expect(!upn.isValid("B80120000500"))  // 12 characters
        #expect(!upn.isValid("I801200005001"))  // I is not in the alphabet
        #expect(!upn.isValid("B8012000050O1"))  // a letter inside
        #expect(!upn.isValid("B80120000500S"))  // S is not allowed as the last character
    }

    @Test(arguments: [
        ("SW1A 1AA", true), ("sw1a 1aa", true), ("SW1A1AA", true), ("M1 1AE", true), ("B33 8TH", true),
        ("CR2 6XH", true), ("DN55 1PT", true), ("GIR 0AA", true), ("ZZ99 3VZ", true), ("zz99 3vz", true),
        ("BS5 9QTT", false), ("QA1 1AA", false), ("SW1A 1AAA", false), ("", false), ("12345", false),
        ("SW1A  1AA", false), ("M1 1CE", false),
    ])
    func ukPostcodes(value: String, valid: Bool) throws {
        #expect(try schema("uk-postcode").isValid(.string(value)) == valid, "\(value)")
    }

    @Test(arguments: [
        ("2024-02-29", true), ("2023-02-28", true), ("2000-02-29", true), ("1900-02-28", true),
        ("2019-02-30", false), ("2023-02-29", false), ("1900-02-29", false), ("2024-13-01", false),
        ("2024-04-31", false), ("2024-1-01", false), ("24-01-01", false), ("2024-01-01T00:00:00Z", false),
        ("２０２４-01-01", false),
    ])
    func dates(value: String, valid: Bool) throws {
        #expect(try schema("date").isValid(.string(value)) == valid, "\(value)")
    }

    @Test func dateMessage() throws {
        #expect(try messages("date", "2019-02-30") == [#"(root): "2019-02-30" is not a valid date (YYYY-MM-DD)"#])
    }

    @Test(arguments: [
        ("2024-05-01T09:30:00Z", true), ("2024-05-01t09:30:00z", true), ("2024-05-01T09:30:00.123+01:00", true),
        ("1998-12-31T23:59:60Z", true), ("1998-12-31T15:59:60-08:00", true), ("1998-12-31T23:59:60+01:00", false),
        ("2024-05-01T24:00:00Z", false), ("2024-05-01T09:30:00", false), ("2024-05-01 09:30:00Z", false),
        ("2024-05-01T09:60:00Z", false), ("2024-05-01T09:30:00+24:00", false), ("2024-02-30T09:30:00Z", false),
        ("2024-05-01T09:30:00.Z", false),
    ])
    func dateTimes(value: String, valid: Bool) throws {
        #expect(try schema("date-time").isValid(.string(value)) == valid, "\(value)")
    }

    @Test(arguments: [
        ("09:30:00Z", true), ("23:59:60Z", true), ("22:59:60-01:00", true), ("12:00:60Z", false),
        ("09:30Z", false), ("09:30:00", false),
    ])
    func times(value: String, valid: Bool) throws {
        #expect(try schema("time").isValid(.string(value)) == valid, "\(value)")
    }

    @Test(arguments: [
        ("P4DT12H30M5S", true), ("P1Y", true), ("PT1S", true), ("P2W", true), ("P1M", true),
        ("P", false), ("PT", false), ("P1D2H", false), ("P2W1D", false), ("P1S", false), ("PT1D", false),
        ("P1M2Y", false), ("1Y", false),
    ])
    func durations(value: String, valid: Bool) throws {
        #expect(try schema("duration").isValid(.string(value)) == valid, "\(value)")
    }

    @Test(arguments: [
        ("dsl@school.example.org", true), ("first.last+tag@example.co.uk", true), ("\"odd name\"@example.org", true),
        ("user@[192.168.0.1]", true), ("user@[IPv6:::1]", true), ("plainaddress", false), ("@example.org", false),
        ("a..b@example.org", false), (".a@example.org", false), ("a@-example.org", false), ("a b@example.org", false),
        ("jörg@example.org", false),
    ])
    func emails(value: String, valid: Bool) throws {
        #expect(try schema("email").isValid(.string(value)) == valid, "\(value)")
    }

    @Test func internationalEmail() throws {
        #expect(try schema("idn-email").isValid("jörg@bücher.example"))
    }

    @Test(arguments: [
        ("123e4567-e89b-12d3-a456-426614174000", true), ("123E4567-E89B-12D3-A456-426614174000", true),
        ("123e4567e89b12d3a456426614174000", false), ("123e4567-e89b-12d3-a456-42661417400g", false),
        ("123e4567-e89b-12d3-a456-4266141740000", false),
    ])
    func uuids(value: String, valid: Bool) throws {
        #expect(try schema("uuid").isValid(.string(value)) == valid, "\(value)")
    }

    @Test(arguments: [
        ("192.168.0.1", true), ("0.0.0.0", true), ("255.255.255.255", true), ("256.1.1.1", false),
        ("01.1.1.1", false), ("1.1.1", false), ("1.1.1.1.1", false), ("1.1.1.୧", false),
    ])
    func ipv4(value: String, valid: Bool) throws {
        #expect(try schema("ipv4").isValid(.string(value)) == valid, "\(value)")
    }

    @Test(arguments: [
        ("::1", true), ("::", true), ("2001:db8::8a2e:370:7334", true), ("::ffff:192.168.0.1", true),
        ("1:2:3:4:5:6:7:8", true), ("1:2:3:4:5:6:7:8:9", false), ("1::2::3", false), ("12345::", false),
        ("1:2:3:4:5:6:7", false), ("::ffff:256.1.1.1", false), ("fe80::1%eth0", false),
    ])
    func ipv6(value: String, valid: Bool) throws {
        #expect(try schema("ipv6").isValid(.string(value)) == valid, "\(value)")
    }

    @Test(arguments: [
        ("https://example.org/a/b?c=d#e", true), ("urn:uuid:123e4567-e89b-12d3-a456-426614174000", true),
        ("mailto:dsl@example.org", true), ("//example.org/path", false), ("/relative", false),
        ("https://exa mple.org", false), ("https://example.org/%zz", false), ("http://[::1]:8080/", true),
    ])
    func uris(value: String, valid: Bool) throws {
        #expect(try schema("uri").isValid(.string(value)) == valid, "\(value)")
    }

    @Test func otherKnownFormats() throws {
        #expect(try schema("uri-reference").isValid("/relative/path?q#f"))
        #expect(try !schema("uri-reference").isValid("\\\\windows\\path"))
        #expect(try schema("iri").isValid("https://bücher.example/straße"))
        #expect(try schema("hostname").isValid("mash.example-council.gov.uk"))
        #expect(try !schema("hostname").isValid("-bad.example"))
        #expect(try !schema("hostname").isValid(.string(String(repeating: "a", count: 64) + ".example")))
        #expect(try schema("idn-hostname").isValid("bücher.example"))
        #expect(try schema("json-pointer").isValid("/a/b~0c"))
        #expect(try !schema("json-pointer").isValid("a/b"))
        #expect(try schema("relative-json-pointer").isValid("1/a"))
        #expect(try schema("relative-json-pointer").isValid("0#"))
        #expect(try !schema("relative-json-pointer").isValid("01/a"))
        #expect(try schema("regex").isValid("^[a-z]+$"))
        #expect(try !schema("regex").isValid("(unclosed"))
        #expect(try schema("uri-template").isValid("https://example.org/{id}"))
        #expect(try !schema("uri-template").isValid("https://example.org/{id"))
    }

    @Test func nonStringsPassFormats() throws {
        #expect(try schema("date").isValid(12))
        #expect(try schema("nhs-number").isValid(nil))
    }

    @Test func unknownFormatIsACompileErrorWhenAsserting() {
        var options = SchemaOptions()
        options.assertFormats = true
        let schema: JSONValue = [
            "properties": ["child": ["properties": ["nhsNumber": ["type": "string", "format": "nhs-numbr"]]]]
        ]
        #expect {
            try Schema(schema, options: options)
        } throws: { error in
            guard let error = error as? SchemaError else { return false }
            return error.message == #"unknown format "nhs-numbr" at /properties/child/properties/nhsNumber"#
                && error.schemaLocation == "#/properties/child/properties/nhsNumber/format"
        }
    }

    @Test func everyFormatNameIsKnown() throws {
        for name in [
            "date", "date-time", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
            "uri", "uri-reference", "iri", "iri-reference", "uri-template", "uuid", "json-pointer",
            "relative-json-pointer", "regex", "nhs-number", "upn", "uk-postcode",
        ] {
            #expect(throws: Never.self) { try schema(name) }
        }
    }
}
