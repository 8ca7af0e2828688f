import Foundation
import Testing
import TestSupport

/// Routing policy end to end: partners receive exactly their fields; reload swaps policy atomically.
@Suite(.serialized)
struct RoutingEndToEndTests {
    @Test func policeHealthAndSchoolEachReceiveExactlyTheirFieldsAndTheFHIRBundleParses() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-fields")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()
        // R1+R2+R3: front door, police, health. R1+R2+R4: front door, police, school.
        try dropFile(try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json"), named: "injury.json",
                     into: sandbox.inbound("health-visiting"))
        try dropFile(try RouterSandbox.example("valid/police-domestic-abuse-school-known.json"), named: "da.json",
                     into: sandbox.inbound("northshire-police"))
        _ = try await partners["police-ppu"].waitForRequests(count: 2, timeout: .seconds(30))
        _ = try await partners["health-safeguarding"].waitForRequests(count: 1, timeout: .seconds(30))
        _ = try await partners["school-dsl"].waitForRequests(count: 1, timeout: .seconds(30))

        let policeAllowedChild: Set<String> = ["givenName", "familyName", "dateOfBirth", "expectedDeliveryDate", "estimatedAgeYears", "sex",
                                               "ethnicity", "firstLanguage", "interpreterRequired", "address", "currentLocation"]
        for request in try partners["police-ppu"].received() {
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            let referral = try #require(envelope["referral"] as? [String: Any])
            #expect(Set(referral.keys).isSubset(of: ["schemaVersion", "referralId", "submittedAt", "jurisdiction", "referralType", "referrer",
                                                       "child", "household", "concern", "urgency", "consent"]))
            #expect(Set((referral["child"] as? [String: Any] ?? [:]).keys).isSubset(of: policeAllowedChild))
            #expect(Set((referral["consent"] as? [String: Any] ?? [:]).keys).isSubset(of: ["status", "parentsAware"]))
            #expect((referral["concern"] as? [String: Any])?["assessment"] == nil)
            #expect(envelope["rule"] as? String == "R1")
        }

        let health = try #require(try partners["health-safeguarding"].received().first)
        #expect(health.header("Content-Type") == "application/fhir+json")
        let bundle = try #require(try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any])
        #expect(bundle["resourceType"] as? String == "Bundle")
        #expect(bundle["type"] as? String == "transaction")
        let entries = try #require(bundle["entry"] as? [[String: Any]])
        let resources = entries.compactMap { $0["resource"] as? [String: Any] }
        #expect(resources.compactMap { $0["resourceType"] as? String } == ["Patient", "ServiceRequest", "Task"])
        let patient = try #require(resources.first)
        let identifier = try #require((patient["identifier"] as? [[String: Any]])?.first)
        #expect(identifier["system"] as? String == "https://fhir.nhs.uk/Id/nhs-number")
        #expect((identifier["value"] as? String)?.count == 10)
        let request = resources[1]
        #expect(request["intent"] as? String == "order")
        #expect(request["priority"] as? String == "stat")
        #expect(((request["note"] as? [[String: Any]])?.first?["text"] as? String)?.count ?? 0 <= 500, "a short summary")
        #expect(!health.bodyText.contains("policeReference"))

        let school = try #require(try partners["school-dsl"].received().first)
        let schoolReferral = try #require((try JSONSerialization.jsonObject(with: Data(school.body)) as? [String: Any])?["referral"] as? [String: Any])
        #expect(Set((schoolReferral["child"] as? [String: Any] ?? [:]).keys).isSubset(of: ["givenName", "familyName", "dateOfBirth", "upn", "school"]))
        #expect(schoolReferral["household"] == nil)
        #expect((schoolReferral["concern"] as? [String: Any])?["description"] == nil)
        #expect(await router.stop() == 0)
    }

    @Test func reloadWhileFilesFlowSwapsPolicyAndKeepsTheOldOneWhenTheNewOneIsBroken() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-reload")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()
        let rulesPath = sandbox.configDirectory + "/rules.toml"
        let shipped = try String(contentsOfFile: rulesPath, encoding: .utf8)

        var ids: [String] = []
        func drop(_ count: Int) throws {
            for _ in 0..<count {
                let id = UUID().uuidString.lowercased()
                ids.append(id)
                try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "\(id).json",
                             into: sandbox.inbound("health-visiting"))
            }
        }
        try drop(10)
        // A good new policy: R2 also informs the police.
        try shipped.replacingOccurrences(of: "send_to = [\"la-front-door\"]\n[rule.when]\nany = [\n  { field = \"concern.significantHarmSuspected\"",
                                         with: "send_to = [\"la-front-door\", \"police-ppu\"]\n[rule.when]\nany = [\n  { field = \"concern.significantHarmSuspected\"")
            .write(toFile: rulesPath, atomically: true, encoding: .utf8)
        router.signal(SIGHUP)
        #expect(await waitUntil { router.log.contains("Configuration reloaded.") })
        let afterGood = ids.count
        try drop(10)
        // A broken one: refused, the previous (good) policy stays.
        try "[[rule]]\nname = \"broken\nsend_to = [\n".write(toFile: rulesPath, atomically: true, encoding: .utf8)
        router.signal(SIGHUP)
        #expect(await waitUntil { router.log.contains("Reload refused") })
        #expect(router.log.contains("rules.toml:"), "the refusal names the file and line")
        let afterBad = ids.count
        try drop(10)

        #expect(await waitUntil(timeout: .seconds(60)) { Set((try? partners.referralIds(at: "la-front-door")) ?? []) == Set(ids) },
                "nothing lost across two reloads")
        let police = Set(try partners.referralIds(at: "police-ppu"))
        #expect(Set(ids[afterGood..<afterBad]).isSubset(of: police), "files after the good reload follow the new policy")
        #expect(Set(ids[afterBad...]).isSubset(of: police), "the broken reload kept the good policy")
        #expect(police.isDisjoint(with: ids[..<min(5, ids.count)]), "files routed before the reload keep their routing")
        #expect(router.isRunning)
        #expect(await router.stop() == 0)
    }
}
