import Foundation
import Testing
import TestSupport

extension DeliveryEndToEndTests {
    /// Issue 5: an immediate referral overtakes any backlog of routine ones to the same partner.
    @Suite struct Priority {
        @Test func anImmediateReferralOvertakesABacklogOfThousands() async throws {
            let backlog = 2000
            let bench = try await DeliveryBench.start(prefix: "dl-priority", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": 202, "delay": 0.05}]}"#, lines: ["max_in_flight = 1"]),
            ])
            try await bench.run { bench in
                let frontDoor = bench["la-front-door"]
                for _ in 0..<backlog { try bench.drop() }
                #expect(await waitUntil(timeout: .seconds(180), interval: .milliseconds(200)) {
                    (try? FileManager.default.contentsOfDirectory(atPath: bench.sandbox.inbound("health-visiting")).isEmpty) == true
                }, "every routine referral is committed before the immediate one comes")
                let before = try frontDoor.received().count
                #expect(before < backlog / 2, "the backlog is still there: \(before) of \(backlog) delivered")

                let dropped = ContinuousClock.now
                let urgent = try bench.drop("valid/immediate-unexplained-injury-gp-known.json", agency: "riverside-medical")
                #expect(await waitUntil(timeout: .seconds(30)) {
                    ((try? frontDoor.received()) ?? []).contains { envelopeReferralId($0) == urgent }
                }, "the immediate referral is delivered")
                let latency = ContinuousClock.now - dropped
                let requests = try frontDoor.received()
                let position = try #require(requests.firstIndex { envelopeReferralId($0) == urgent })
                // Ahead of it: what was delivered before it was dropped, plus the one transfer in flight
                // and the few that finished while it was taken in (intake to queue takes a moment).
                #expect(position - before <= 10, "overtook the backlog: \(position - before) routine deliveries went first after it was dropped")
                #expect(position < backlog / 2, "delivered while \(backlog - position) routine referrals still waited")
                #expect(latency < .seconds(10), "delivered in \(latency)")
                #expect(requests[position].header("Idempotency-Key") != nil)
            }
        }
    }
}
