import Foundation
import JSONSchema
import Testing
@testable import ReferralRouter
import TestSupport

/// Table-driven: every referral in routes/examples against the shipped policy, with the expected
/// rules, partner types and receipt from routes/examples/expected.json.
struct RoutingExamplesTests {
    struct Expectation: Sendable, CustomTestStringConvertible {
        var file: String
        var valid: Bool
        var rules: [String]
        var partnerTypes: [String]
        var receipt: String
        var testDescription: String { file }
    }

    static let expectations: [Expectation] = {
        let path = TestPaths.packageRoot + "/routes/examples/expected.json"
        guard let data = FileManager.default.contents(atPath: path),
              let table = try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]] else { return [] }
        return table.keys.sorted().map { file in
            let entry = table[file] ?? [:]
            return Expectation(file: file, valid: entry["valid"] as? Bool ?? false, rules: entry["rules"] as? [String] ?? [],
                               partnerTypes: entry["partnerTypes"] as? [String] ?? [], receipt: entry["receipt"] as? String ?? "")
        }
    }()

    static let configuration: RouterConfiguration? = {
        guard let fixture = try? ConfigurationFixture() else { return nil }
        return try? fixture.load()
    }()

    @Test func theTableCoversEveryExample() throws {
        #expect(Self.expectations.count >= 23)
        let files = try FileManager.default.contentsOfDirectory(atPath: TestPaths.packageRoot + "/routes/examples/valid").map { "valid/\($0)" }
            + FileManager.default.contentsOfDirectory(atPath: TestPaths.packageRoot + "/routes/examples/invalid").map { "invalid/\($0)" }
        #expect(Set(files) == Set(Self.expectations.map(\.file)))
    }

    @Test(arguments: expectations)
    func exampleIsRoutedAsExpected(_ expected: Expectation) throws {
        let configuration = try #require(Self.configuration)
        let dryRun = DryRun(file: expected.file, bytes: try RouterSandbox.example(expected.file), agency: "oakfield-primary",
                            configuration: configuration)
        #expect(dryRun.valid == expected.valid)
        #expect(dryRun.decision.rules.filter(\.matched).map(\.rule) == expected.rules)
        #expect(dryRun.decision.deliveries.map(\.partnerType.rawValue).sorted() == expected.partnerTypes.sorted())
        #expect(dryRun.decision.receipt.rawValue == expected.receipt)
        // Every partner type either receives it or has a recorded reason it did not.
        let reached = Set(dryRun.decision.deliveries.map(\.partnerType))
        #expect(Set(dryRun.decision.notSent.map(\.partnerType)) == Set(PartnerType.allCases).subtracting(reached))
        #expect(dryRun.decision.notSent.allSatisfy { !$0.reason.isEmpty })
    }

    @Test func theCombinationExampleGoesToTheFrontDoorPoliceAndHealthEachOnItsOwnRule() throws {
        let configuration = try #require(Self.configuration)
        let dryRun = DryRun(file: "x", bytes: try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json"),
                            agency: "health-visiting", configuration: configuration)
        let byDestination = Dictionary(uniqueKeysWithValues: dryRun.decision.deliveries.map { ($0.destination, $0) })
        #expect(byDestination["la-front-door"]?.rule == "R1", "R1 precedes R2 for the front door")
        #expect(byDestination["police-ppu"]?.rule == "R1")
        #expect(byDestination["health-safeguarding"]?.rule == "R3")
        #expect(byDestination.values.allSatisfy { $0.basis == "safeguarding" })
        #expect(dryRun.decision.priority == .immediate)
    }

    @Test func consentScopeLimitsWhoAnEarlyHelpReferralReaches() throws {
        let configuration = try #require(Self.configuration)
        let dryRun = DryRun(file: "x", bytes: try RouterSandbox.example("valid/early-help-young-carer-consent-scope.json"),
                            agency: "brightside-family-support", configuration: configuration)
        #expect(dryRun.decision.deliveries.allSatisfy { $0.basis == "consent" && $0.rule == "R5" })
        let notSent = Dictionary(uniqueKeysWithValues: dryRun.decision.notSent.map { ($0.partnerType, $0.reason) })
        #expect(notSent[.localAuthority]?.contains("not in the consent scope") == true)
        #expect(notSent[.police]?.contains("not in the consent scope") == true)
    }

    @Test func consentRuleFailureIsConsentRequiredWithTheReasonNotARejection() throws {
        let configuration = try #require(Self.configuration)
        let dryRun = DryRun(file: "x", bytes: try RouterSandbox.example("invalid/early-help-without-consent.json"),
                            agency: "brightside-family-support", configuration: configuration)
        #expect(dryRun.decision.receipt == .consentRequired)
        #expect(dryRun.decision.deliveries.isEmpty)
        #expect(dryRun.decision.reasons.first?.contains("shared only with the family's consent") == true)
    }

    @Test func invalidImmediateReferralGoesWholeToTheFrontDoorFlagged() throws {
        let configuration = try #require(Self.configuration)
        let bytes = try RouterSandbox.example("invalid/immediate-invalid-date-of-birth.json")
        let dryRun = DryRun(file: "x", bytes: bytes, agency: "northshire-police", configuration: configuration)
        #expect(dryRun.decision.receipt == .forwardedInvalid)
        #expect(dryRun.decision.safetyNet == .invalid)
        let delivery = try #require(dryRun.decision.deliveries.first)
        #expect(dryRun.decision.deliveries.count == 1)
        #expect(delivery.destination == "la-front-door")
        let payload = try JSONDocument(parsing: delivery.payload).root
        #expect(payload["safetyNet"]?["reason"] == "invalid")
        #expect(payload["referral"] == (try JSONDocument(parsing: bytes).root), "forwarded whole")
        #expect((payload["safetyNet"]?["validationErrors"]?.arrayValue?.count ?? 0) > 0)
    }

    @Test func unroutedImmediateReferralGoesToTheFrontDoorFlagged() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        // Make R1 and R2 never hold, so an immediate safeguarding referral matches no rule.
        try fixture.replace(in: "rules.toml", #"{ field = "urgency.level", equals = "immediate" },"#, with: "")
        try fixture.replace(in: "rules.toml", #"{ field = "referralType", equals = "safeguarding" },"#, with: "")
        let configuration = try fixture.load()
        let dryRun = DryRun(file: "x", bytes: try RouterSandbox.example("invalid/immediate-missing-police-contacted.json"),
                            agency: "oakfield-primary", configuration: configuration)
        #expect(dryRun.decision.receipt == .forwardedInvalid, "still invalid: the safety net's invalid branch")
        let valid = try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json")
        var text = String(decoding: valid, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"significantHarmSuspected\": true", with: "\"significantHarmSuspected\": false")
            .replacingOccurrences(of: "\"crimeSuspected\": true", with: "\"crimeSuspected\": false")
        let unrouted = DryRun(file: "y", bytes: Array(text.utf8), agency: "oakfield-primary", configuration: configuration)
        #expect(unrouted.valid)
        #expect(unrouted.decision.receipt == .forwardedUnrouted)
        #expect(unrouted.decision.deliveries.map(\.destination) == ["la-front-door"])
        #expect(unrouted.decision.safetyNet == .unrouted)
    }

    @Test func returningRuleNeverOverridesASendChosenEarlier() throws {
        let configuration = try #require(Self.configuration)
        let dryRun = DryRun(file: "x", bytes: try RouterSandbox.example("valid/information-only-missing-consent-refused.json"),
                            agency: "northshire-police", configuration: configuration)
        #expect(dryRun.decision.receipt == .accepted)
        #expect(dryRun.decision.rules.first { $0.rule == "R6" }?.matched == false, "R6 excludes R1 by its condition")
    }
}

/// FHIR payloads carry the routing decision, not only the projected fields.
struct FHIRDecisionTests {
    @Test func priorityComesFromTheDecisionEvenWhenTheProjectionWithholdsUrgency() throws {
        let envelope = PayloadEnvelope(referralId: "r", routedAt: Timestamp(millisecondsSinceEpoch: 0), rule: "R3", basis: "safeguarding",
                                       basisDescription: nil, sourceAgency: "a", idempotencyKey: "k", destination: "d",
                                       safetyNet: nil, validationIssues: [], priority: .immediate)
        let bundle = FHIRBundle.make(referral: ["child": ["givenName": "X"]], envelope: envelope)
        let request = try #require(bundle["entry"]?[1]?["resource"])
        #expect(request["priority"] == "stat")
    }

    @Test func aSafetyNetForwardIsFlaggedInTheBundle() throws {
        let issue = ValidationIssue(pointer: "/child/dateOfBirth", keyword: "format", message: "m", line: 1, column: 1, schemaLocation: nil)
        let envelope = PayloadEnvelope(referralId: "r", routedAt: Timestamp(millisecondsSinceEpoch: 0), rule: "safety-net", basis: "safeguarding",
                                       basisDescription: nil, sourceAgency: "a", idempotencyKey: "k", destination: "d",
                                       safetyNet: .invalid, validationIssues: [issue], priority: .immediate)
        let request = try #require(FHIRBundle.make(referral: [:], envelope: envelope)["entry"]?[1]?["resource"])
        #expect(request["meta"]?["tag"]?.arrayValue?.contains { $0["code"] == "invalid" } == true)
        #expect(request["note"]?[0]?["text"]?.stringValue?.contains("/child/dateOfBirth format") == true)
    }
}
