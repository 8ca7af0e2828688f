import Foundation
import Testing
import TestSupport

/// Dead letters come back only by an operator's recorded action.
struct RequeueEndToEndTests {
    @Test func aDeadLetterRequeuedByAnOperatorIsDeliveredAndTheActionAudited() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-requeue")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox, scripts: ["la-front-door": #"{"*": [{"status": 422, "body": "{\"error\": \"schema version\"}"}]}"#])
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()
        let id = UUID().uuidString.lowercased()
        try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r.json", into: sandbox.inbound("health-visiting"))
        let receipt = sandbox.receipts("health-visiting") + "/\(id).json"
        #expect(await waitUntil { (readJSONObject(receipt)?["destinations"] as? [[String: Any]])?.first?["status"] as? String == "failed" })

        try partners["la-front-door"].setScript(#"{"*": [{"status": 202}]}"#)
        #expect(await waitUntil { FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/status.json") })
        let requeue = try CLITests.run(["requeue", "--config", sandbox.configDirectory, "--destination", "la-front-door"])
        #expect(requeue.status == 0)
        #expect(requeue.output.contains("Requeued 1 dead-lettered delivery."))
        #expect(requeue.output.contains("Asked the running router"))
        #expect(await waitUntil { (try? partners.referralIds(at: "la-front-door", status: 202)) == [id] })
        #expect(await waitUntil { (readJSONObject(receipt)?["destinations"] as? [[String: Any]])?.first?["status"] as? String == "delivered" })
        let keys = Set(try partners["la-front-door"].received().compactMap { $0.header("Idempotency-Key") })
        #expect(keys.count == 1, "a requeued delivery keeps its idempotency key")
        let audit = try RouterState(sandbox: sandbox).query("SELECT outcome FROM audit WHERE event = 'requeued'")
        #expect(audit.count == 1)
        let none = try CLITests.run(["requeue", "--config", sandbox.configDirectory, "--all"])
        #expect(none.output.contains("Requeued 0 dead-lettered deliveries."))
        #expect(try CLITests.run(["requeue", "--config", sandbox.configDirectory]).status != 0, "a filter or --all is required")
        #expect(await router.stop() == 0)
    }
}
