import Testing

@testable import JSONSchema

@Suite("JSON values, numbers, objects, pointers and serialization")
struct JSONValueTests {
    private func number(_ literal: String) throws -> JSONNumber {
        try #require(JSONNumber(literal: literal))
    }

    @Test func numbersCompareByMathematicalValue() throws {
        #expect(try number("1") == number("1.0"))
        #expect(try number("1e2") == number("100"))
        #expect(try number("100") == JSONNumber(100))
        #expect(try number("0.10") == number("1e-1"))
        #expect(try number("-0") == number("0"))
        #expect(try number("12345678901234567890") != number("12345678901234567891"))
        #expect(try number("12345678901234567890") < number("12345678901234567891"))
        #expect(try number("-1.5") < number("-1.25"))
        #expect(JSONNumber(literal: "1e400") == nil)
    }

    @Test func equalNumbersHashEqually() throws {
        let set: Set<JSONNumber> = [try number("1e2"), try number("100.00"), JSONNumber(100)]
        #expect(set.count == 1)
        let values: Set<JSONValue> = [.number(try number("2.50")), .number(try number("25e-1"))]
        #expect(values.count == 1)
    }

    @Test func integerness() throws {
        #expect(try number("1.0").isInteger)
        #expect(try number("1e2").isInteger)
        #expect(try number("1.5e1").isInteger)
        #expect(try !number("1e-2").isInteger)
        #expect(try !number("0.5").isInteger)
        #expect(try number("1.0").intValue == 1)
        #expect(try number("1e2").intValue == 100)
        #expect(try number("-9223372036854775808").intValue == Int.min)
        #expect(try number("9223372036854775808").intValue == nil)
        #expect(JSONValue.number(try number("2.0")).typeName == "integer")
        #expect(JSONValue.number(try number("2.1")).typeName == "number")
    }

    @Test func literalGrammar() {
        for good in ["0", "-0", "1.5", "1E+2", "1e-2", "123"] {
            #expect(JSONNumber(literal: good)?.literal == good)
        }
        for bad in ["", "01", "+1", "1.", ".1", "1e", "0x10", "NaN", "Infinity", " 1", "1 "] {
            #expect(JSONNumber(literal: bad) == nil, "\(bad)")
        }
        #expect(JSONNumber(Double.nan) == nil)
        #expect(JSONNumber(Double.infinity) == nil)
        #expect(JSONNumber(2.0)?.literal == "2")
        #expect(JSONNumber(0.1)?.literal == "0.1")
        #expect(JSONNumber(0.1)?.doubleValue == 0.1)
    }

    @Test func exactMultipleOf() throws {
        #expect(try number("0.0075").isMultiple(of: number("0.0001")))
        #expect(try !number("0.00751").isMultiple(of: number("0.0001")))
        #expect(try number("19.99").isMultiple(of: number("0.01")))
        #expect(try number("4.5").isMultiple(of: number("1.5")))
        #expect(try !number("35").isMultiple(of: number("1.5")))
        #expect(try number("1e308").isMultiple(of: number("1")))
        #expect(try !number("1e308").isMultiple(of: number("0.123456789")))
        #expect(try number("12345678901234567890").isMultiple(of: number("10")))
        #expect(try !number("12345678901234567891").isMultiple(of: number("10")))
        #expect(try number("0").isMultiple(of: number("7")))
        #expect(JSONNumber(10).isMultiple(of: JSONNumber(5)))
        #expect(!JSONNumber(10).isMultiple(of: JSONNumber(3)))
    }

    @Test func valuesCompareWithSchemaEquality() {
        let a: JSONValue = ["x": 1, "y": [1, "two", nil]]
        let b: JSONValue = ["y": [1.0, "two", nil], "x": 1.0]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(JSONValue.array([1, 2]) != JSONValue.array([2, 1]))
        #expect(JSONValue.bool(false) != JSONValue.number(JSONNumber(0)))
        #expect(JSONValue.null != JSONValue.bool(false))
    }

    @Test func objectSemantics() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["c"] = 3
        object["a"] = 10
        #expect(object.keys == ["a", "b", "c"])
        #expect(object["a"] == 10)
        object["b"] = nil
        #expect(object.keys == ["a", "c"])
        let replaced = JSONObject([(key: "k", value: 1), (key: "j", value: 2), (key: "k", value: 3)])
        #expect(replaced.keys == ["k", "j"])
        #expect(replaced["k"] == 3)
        var big = JSONObject()
        for i in 0..<40 { big["k\(i)"] = .number(JSONNumber(i)) }
        big["k3"] = nil
        #expect(big.count == 39)
        #expect(big["k3"] == nil)
        #expect(big["k39"] == 39)
        #expect(big.keys.first == "k0")
        var iterated: [String] = []
        for (key, _) in object { iterated.append(key) }
        #expect(iterated == ["a", "c"])
    }

    @Test func accessors() {
        let value: JSONValue = ["s": "t", "b": true, "n": 2, "a": [1], "o": [:], "z": nil]
        #expect(value["s"]?.stringValue == "t")
        #expect(value["b"]?.boolValue == true)
        #expect(value["n"]?.numberValue?.intValue == 2)
        #expect(value["a"]?.arrayValue?.count == 1)
        #expect(value["o"]?.objectValue?.count == 0)
        #expect(value["z"]?.isNull == true)
        #expect(value["s"]?.numberValue == nil)
        #expect(value.value(at: "/a/0") == 1)
        #expect(value.value(at: "/a/1") == nil)
        #expect(value.value(at: "/a/01") == nil)
        #expect(value.value(at: "/s/x") == nil)
        #expect(value.typeName == "object")
        #expect(JSONValue.string("x").typeName == "string")
        #expect(JSONValue.null.typeName == "null")
        #expect(JSONValue.bool(true).typeName == "boolean")
        #expect(JSONValue.array([]).typeName == "array")
    }

    @Test func pointers() throws {
        let pointer = try JSONPointer(parsing: "/a~1b/c~0d/0")
        #expect(pointer.tokens == ["a/b", "c~d", "0"])
        #expect(pointer.description == "/a~1b/c~0d/0")
        #expect(try JSONPointer(parsing: "").tokens.isEmpty)
        #expect(try JSONPointer(parsing: "/").tokens == [""])
        #expect(throws: JSONPointerError.self) { try JSONPointer(parsing: "a") }
        #expect(throws: JSONPointerError.self) { try JSONPointer(parsing: "/a~2") }
        #expect(JSONPointer.root.description == "")
        #expect(JSONPointer.root.dottedPath == "(root)")
        let child = JSONPointer.root.appending("household").appending(index: 0).appending("givenName")
        #expect(child.description == "/household/0/givenName")
        #expect(child.dottedPath == "household[0].givenName")
        #expect(JSONPointer(tokens: ["child", "nhsNumber"]).dottedPath == "child.nhsNumber")
        #expect(JSONPointer(tokens: ["a b", "c\"d"]).dottedPath == #"["a b"]["c\"d"]"#)
    }

    @Test func compactSerialization() {
        let value: JSONValue = ["b": [1, 2.5, true, nil], "a": "x\"y\\z\n\u{1}é😀/"]
        #expect(value.jsonText() == #"{"b":[1,2.5,true,null],"a":"x\"y\\z\n\u0001é😀/"}"#)
        #expect(value.jsonText(sortedKeys: true) == #"{"a":"x\"y\\z\n\u0001é😀/","b":[1,2.5,true,null]}"#)
    }

    @Test func everyControlByteIsEscapedAndTheRunsBetweenAreKept() throws {
        // Escapes at the start, the end, side by side and between plain runs.
        let controls = String(decoding: (0..<0x20).map { UInt8($0) }, as: UTF8.self)
        let text = "\"" + controls + "plain é \\ 😀" + controls + "\""
        let serialized = JSONValue.string(text).jsonText()
        #expect(serialized.hasPrefix(#""\"\u0000\u0001"#))
        #expect(serialized.contains(#"\b\t\n\u000b\f\r"#))
        #expect(serialized.contains(#"plain é \\ 😀"#))
        #expect(serialized.hasSuffix(#"\u001f\"""#))
        #expect(!serialized.utf8.contains { $0 < 0x20 })
        #expect(try JSONDocument(parsing: Array(serialized.utf8)).root == .string(text))
        #expect(JSONValue.string("").jsonText() == #""""#)
    }

    @Test func prettySerialization() {
        let value: JSONValue = ["a": [1, [:]], "b": []]
        #expect(value.jsonText(pretty: true) == "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}")
    }

    @Test func sortedKeysUseUTF16Order() {
        // U+FF61 sorts before U+1F600 in UTF-16 (the emoji is a surrogate pair starting 0xD83D,
        // which is less than 0xFF61), although its scalar value is larger.
        let value: JSONValue = ["\u{FF61}": 1, "😀": 2, "b": 3, "B": 4]
        #expect(value.jsonText(sortedKeys: true) == "{\"B\":4,\"b\":3,\"😀\":2,\"\u{FF61}\":1}")
    }

    @Test func serializationRoundTrips() throws {
        let text = #"{"n":[0,-0,1.50,1E+2,123456789012345678901234567890],"s":"tab\tq\"\u0000","o":{"x":{"y":[]}}}"#
        let first = try JSONDocument(parsing: Array(text.utf8)).root
        let bytes = first.serialized()
        let second = try JSONDocument(parsing: bytes).root
        #expect(first == second)
        #expect(second.serialized() == bytes)
        #expect(String(decoding: bytes, as: UTF8.self).contains("1.50,1E+2,1234567890123456789"))
        let pretty = try JSONDocument(parsing: first.serialized(pretty: true)).root
        #expect(pretty == first)
    }
}
