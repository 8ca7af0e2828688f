import Foundation
import Testing
import TestSupport

extension DeliveryEndToEndTests {
    /// Deliveries across configuration changes.
    @Suite struct Reload {
        @Test func deliveriesForADestinationAddedBackByAReloadAreResumed() async throws {
            let sandbox = try RouterSandbox(prefix: "dl-reload-added")
            defer { sandbox.remove() }
            let directory = sandbox.root + "/partner-early-help"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let earlyHelp = try await TestPartner.start(pki: sandbox.pki, directory: directory, script: #"{"*": [{"status": 503}]}"#,
                                                        name: "early-help-hub")
            defer { earlyHelp.stop() }
            let urls = ["early-help-hub": earlyHelp.url(path: "/referrals")]
            try sandbox.writeConfiguration(destinations: DestinationSpec.shipped(urls: urls))

            // A consented early-help referral, pending for the early help hub (it answers 503).
            var router = try await sandbox.startRouter()
            let id = UUID().uuidString.lowercased()
            try dropFile(try RouterSandbox.example("valid/early-help-young-carer-consent-scope.json", referralId: id),
                         named: "\(id).json", into: sandbox.inbound("brightside-family-support"))
            _ = try await earlyHelp.waitForRequests(count: 1, timeout: .seconds(30))
            #expect(await router.stop() == 0)

            // Restarted without the hub (and the rule that sends to it): its delivery waits in the store.
            let shippedRules = try String(contentsOfFile: TestPaths.packageRoot + "/routes/rules.toml", encoding: .utf8)
            let start = try #require(shippedRules.range(of: "[[rule]]\nname = \"R5\""))
            let end = try #require(shippedRules.range(of: "[[rule]]\nname = \"R6\""))
            let rulesWithoutHub = String(shippedRules[..<start.lowerBound] + shippedRules[end.lowerBound...])
            try sandbox.writeConfiguration(destinations: DestinationSpec.shipped(urls: urls).filter { $0.id != "early-help-hub" },
                                           rules: rulesWithoutHub)
            router = try await sandbox.startRouter(logName: "router-2.log")
            #expect(await waitUntil { !logLines(router.log, with: "code=unknown_destination", and: ["destination=early-help-hub"]).isEmpty })

            // The operator adds it back and reloads: the waiting delivery goes now, not at the next restart.
            try earlyHelp.setScript(#"{"*": [{"status": 202}]}"#)
            let sentBefore = try earlyHelp.received().count
            try sandbox.writeConfiguration(destinations: DestinationSpec.shipped(urls: urls))
            router.signal(SIGHUP)
            let requests = try await earlyHelp.waitForRequests(count: sentBefore + 1, timeout: .seconds(20))
            #expect(requests.last?.status == 202)
            #expect(requests.last.flatMap(envelopeReferralId) == id)
            #expect(await waitUntil {
                (readJSONObject(sandbox.receipts("brightside-family-support") + "/\(id).json")?["destinations"] as? [[String: Any]])?
                    .first { $0["destination"] as? String == "early-help-hub" }?["status"] as? String == "delivered"
            })
            #expect(await router.stop() == 0)
        }
    }
}
