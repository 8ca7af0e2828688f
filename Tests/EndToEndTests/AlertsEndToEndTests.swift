import Foundation
import Testing
import TestSupport

/// Alerts the router raises on its own.
struct AlertsEndToEndTests {
    @Test func anImmediateReferralHeldTooLongRaisesAnAlertInStatusAndTheLog() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-alert")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox, scripts: ["la-front-door": #"{"*": [{"status": 503}]}"#])
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls, extra: "[alerts]\nimmediate_undelivered_seconds = 10\nrepeat_seconds = 60\n")
        let router = try await sandbox.startRouter()
        try dropFile(try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json"), named: "immediate.json",
                     into: sandbox.inbound("health-visiting"))
        let statusPath = sandbox.stateDirectory + "/status.json"
        let alerted = await waitUntil(timeout: .seconds(40), interval: .milliseconds(250)) {
            ((readJSONObject(statusPath)?["alerts"] as? [String]) ?? []).contains { $0.contains("immediate referral(s) undelivered to la-front-door") }
        }
        #expect(alerted)
        #expect(router.log.contains("code=immediate_undelivered"))
        #expect(router.log.components(separatedBy: "code=immediate_undelivered").count == 2, "logged once per repeat interval")
        let status = try CLITests.run(["status", "--config", sandbox.configDirectory])
        #expect(status.status == 1, "alerts need attention")
        #expect(status.output.contains("ALERT: 1 immediate referral(s) undelivered to la-front-door"))
        #expect(await router.stop() == 0)
    }
}
