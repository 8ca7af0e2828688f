import Foundation
import Testing

@testable import JSONSchema

/// The shared referral schema and its examples (routes/, written from referrals.md) checked
/// with this validator: every example must get the verdict, error keywords and error pointers
/// that routes/examples/expected.json records.
@Suite("Referral schema examples")
struct ReferralExamplesTests {
    static let routes: URL? = {
        let recorded = URL(fileURLWithPath: #filePath)
        for file in [recorded, recorded.resolvingSymlinksInPath()] {
            let root = file.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let routes = root.appendingPathComponent("routes")
            if FileManager.default.fileExists(atPath: routes.appendingPathComponent("examples/expected.json").path) {
                return routes
            }
        }
        return nil
    }()

    // Skipped where the checkout has no routes/ folder yet.
    @Test(.enabled(if: routes != nil, "routes/referral.schema.json and routes/examples not found"))
    func examplesMatchExpectations() throws {
        let routes = try #require(Self.routes)
        var options = SchemaOptions()
        options.assertFormats = true
        let schema = try Schema(
            parsing: [UInt8](Data(contentsOf: routes.appendingPathComponent("referral.schema.json"))), options: options)
        let examples = routes.appendingPathComponent("examples")
        let expected = try JSONDocument(
            parsing: [UInt8](Data(contentsOf: examples.appendingPathComponent("expected.json")))
        ).root
        let entries = try #require(expected.objectValue)
        #expect(entries.count > 0)
        for (path, expectation) in entries {
            let bytes = try [UInt8](Data(contentsOf: examples.appendingPathComponent(path)))
            let wantValid = expectation["valid"]?.boolValue
            let document: JSONDocument
            do {
                document = try JSONDocument(parsing: bytes)
            } catch {
                #expect(wantValid == false, "\(path): \(error)")
                #expect(expectation["parseError"]?.stringValue == error.code.rawValue, "\(path)")
                continue
            }
            let result = schema.validate(document)
            #expect(result.isValid == wantValid, "\(path): \(result.errors.map(\.description))")
            #expect(schema.isValid(document.root) == result.isValid, "\(path)")
            if let keywords = expectation["errorKeywords"]?.arrayValue {
                #expect(Set(result.errors.map(\.keyword)) == Set(keywords.compactMap(\.stringValue)), "\(path)")
            }
            if let pointers = expectation["errorPointers"]?.arrayValue {
                #expect(
                    Set(result.errors.map(\.instanceLocation.description)) == Set(pointers.compactMap(\.stringValue)),
                    "\(path)")
            }
            for error in result.errors {
                #expect(error.sourceLocation != nil, "\(path): \(error)")
            }
        }
    }
}
