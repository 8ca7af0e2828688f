import Foundation
import JSONSchema
import Testing
@testable import ReferralRouter
import TestSupport

/// What each partner type may receive, checked on every valid example against the shipped policy.
struct FieldPolicyTests {
    static let validExamples: [String] = {
        ((try? FileManager.default.contentsOfDirectory(atPath: TestPaths.packageRoot + "/routes/examples/valid")) ?? []).sorted().map { "valid/" + $0 }
    }()

    static func payloads(_ example: String, for partner: PartnerType) throws -> (referral: JSONValue, payload: JSONValue, withheld: [String])? {
        let configuration = try #require(RoutingExamplesTests.configuration)
        let bytes = try RouterSandbox.example(example)
        let referral = try JSONDocument(parsing: bytes).root
        guard let destination = configuration.destinations.first(where: { $0.partnerType == partner }),
              let policy = configuration.routing.fieldPolicy(for: destination.id) else { return nil }
        let projection = policy.project(referral)
        return (referral, projection.value, projection.withheld.map(\.description))
    }

    @Test(arguments: validExamples)
    func policeNeverReceiveHealthEducationOrAssessmentData(_ example: String) throws {
        let result = try #require(try Self.payloads(example, for: .police))
        let child = result.payload["child"]
        for field in ["nhsNumber", "gpOdsCode", "disability", "upn", "school"] { #expect(child?[field] == nil, "police got child.\(field)") }
        #expect(result.payload["concern"]?["assessment"] == nil)
        #expect(result.payload["professionals"] == nil)
        if let household = result.referral["household"] { #expect(result.payload["household"] == household, "police receive the household whole") }
    }

    @Test(arguments: validExamples)
    func healthReceivesAShortSummaryAndOnlyAdultsWithParentalResponsibility(_ example: String) throws {
        let result = try #require(try Self.payloads(example, for: .health))
        #expect((result.payload["concern"]?["description"]?.stringValue?.count ?? 0) <= 500)
        #expect(result.payload["urgency"]?["policeReference"] == nil)
        #expect(result.payload["urgency"]?["policeContacted"] == nil)
        #expect(result.payload["child"]?["upn"] == nil)
        #expect(result.payload["child"]?["school"] == nil)
        for member in result.payload["household"]?.arrayValue ?? [] {
            #expect(member["hasParentalResponsibility"] == "yes")
            #expect(member["allegedPerpetrator"] == nil)
        }
        if let original = result.referral["concern"]?["description"]?.stringValue, original.count > 500 {
            #expect(result.payload["concern"]?["description"]?.stringValue == String(original.prefix(500)))
        }
    }

    @Test(arguments: validExamples)
    func schoolsReceiveNoNarrativeHealthDataOrHousehold(_ example: String) throws {
        let result = try #require(try Self.payloads(example, for: .school))
        #expect(result.payload["concern"]?["description"] == nil)
        #expect(result.payload["concern"]?["disclosure"] == nil)
        #expect(result.payload["child"]?["nhsNumber"] == nil)
        #expect(result.payload["household"] == nil)
        let groups: Set<String> = ["abuse", "neglect", "domestic-abuse", "attendance", "exploitation", "online-safety", "wellbeing",
                                   "family-circumstances", "additional-needs", "missing-from-home"]
        for category in result.payload["concern"]?["categories"]?.arrayValue ?? [] {
            #expect(groups.contains(category.stringValue ?? ""), "schools see category groups only")
        }
    }

    @Test(arguments: validExamples)
    func earlyHelpReceivesNoPoliceDataAndNothingConfidentialFromTheFamily(_ example: String) throws {
        let result = try #require(try Self.payloads(example, for: .earlyHelp))
        #expect(result.payload["urgency"]?["policeReference"] == nil)
        #expect(result.payload["concern"]?["crimeSuspected"] == nil)
        for member in result.payload["household"]?.arrayValue ?? [] { #expect(member["allegedPerpetrator"] == nil) }
        for pointer in result.referral["consent"]?["confidentialFromFamily"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
            #expect(result.payload.value(at: try JSONPointer(parsing: pointer)) == nil, "\(pointer) is confidential from the family")
        }
    }

    @Test func projectionRecordsWithheldPathsAndKeepsSourceIndices() {
        let policy = FieldPolicy(target: .partnerType(.health),
                                 allow: [try! FieldPath.parse("a").get(), try! FieldPath.parse("people[*].name").get()],
                                 keepElements: [(try! FieldPath.parse("people").get(), .equals(try! FieldPath.parse("keep").get(), true))])
        let value: JSONValue = ["a": 1, "b": 2, "people": [["name": "x", "keep": false], ["name": "y", "keep": true, "age": 3]]]
        let projection = policy.project(value)
        #expect(projection.value == ["a": 1, "people": [["name": "y"]]])
        #expect(Set(projection.withheld.map(\.description)) == ["/b", "/people/0", "/people/1/keep", "/people/1/age"])
        #expect(Set(projection.sent.map(\.description)) == ["/a", "/people/1/name"])
    }

    @Test func wholeReferralPolicyWithholdsNothing() throws {
        let policy = FieldPolicy(target: .partnerType(.localAuthority), allow: [.whole])
        let referral = try JSONDocument(parsing: try RouterSandbox.example("valid/typical-school-neglect.json")).root
        let projection = policy.project(referral)
        #expect(projection.value == referral)
        #expect(projection.withheld.isEmpty)
    }
}

/// Regressions: fields the referral or the policy withholds must stay withheld whatever the indices.
struct FieldPolicyWithholdingTests {
    static let household: JSONValue = ["household": [["givenName": "A", "pr": "yes"], ["givenName": "B", "pr": "no"], ["givenName": "C", "pr": "yes"]],
                                       "consent": ["confidentialFromFamily": ["/household/0", "/household/2"]]]

    @Test func twoConfidentialElementsOfOneArrayAreBothWithheld() throws {
        let policy = FieldPolicy(target: .partnerType(.earlyHelp), allow: [try FieldPath.parse("household").get()],
                                 withholdListedIn: try FieldPath.parse("consent.confidentialFromFamily").get())
        let projection = policy.project(Self.household)
        #expect(projection.value == ["household": [["givenName": "B", "pr": "no"]]])
        #expect(Set(projection.withheld.map(\.description)) == ["/household/0", "/household/2", "/consent"])
    }

    @Test func elementFiltersApplyWhenTheArrayIsAllowedWhole() throws {
        let policy = FieldPolicy(target: .partnerType(.health), allow: [try FieldPath.parse("household").get()],
                                 keepElements: [(try FieldPath.parse("household").get(), .equals(try FieldPath.parse("pr").get(), "yes"))])
        let projection = policy.project(Self.household)
        #expect(projection.value == ["household": [["givenName": "A", "pr": "yes"], ["givenName": "C", "pr": "yes"]]])
        #expect(projection.withheld.map(\.description).contains("/household/1"))
    }

    @Test func aConfidentialFieldInsideAWholeAllowedSubtreeIsWithheld() throws {
        let referral: JSONValue = ["child": ["givenName": "X", "currentLocation": "secret"],
                                   "consent": ["confidentialFromFamily": ["/child/currentLocation"]]]
        let policy = FieldPolicy(target: .partnerType(.earlyHelp), allow: [.whole], withholdListedIn: try FieldPath.parse("consent.confidentialFromFamily").get())
        let projection = policy.project(referral)
        #expect(projection.value["child"] == ["givenName": "X"])
        #expect(projection.withheld.map(\.description) == ["/child/currentLocation"])
    }
}
