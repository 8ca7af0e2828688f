import Foundation
import Testing
import TestSupport

extension DeliveryEndToEndTests {
    /// One partner hanging while another flows: the healthy one keeps its pace, the failing one's
    /// breaker opens, probes once per cool-down, and closes when the partner answers again.
    @Suite struct Isolation {
        static let coolDown = 3.0

        @Test func aHangingPartnerOpensItsBreakerWithoutSlowingTheOthers() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-isolation", partners: [
                "la-front-door": .init(),
                "school-dsl": .init(),
                "police-ppu": .init(script: #"{"*": [{"action": "hang", "seconds": 60}]}"#, lines: [
                    "max_in_flight = 2", "connect_timeout_seconds = 1", "total_timeout_seconds = 1", "low_speed_window_seconds = 60",
                    "breaker_failure_threshold = 3", "breaker_cooldown_seconds = \(Self.coolDown)",
                    "retry_base_seconds = 0.1", "retry_cap_seconds = 0.5",
                ]),
            ])
            try await bench.run { bench in
                let frontDoor = bench["la-front-door"]
                let police = bench["police-ppu"]

                // Baseline: 200 referrals to the front door while every partner is well.
                let baseline = try await timeDelivery(of: 200, bench: bench, expectedTotal: 200)

                // The police partner hangs: four referrals for it (each also goes to the front door and the school).
                let policeIds = try (0..<4).map { _ in try bench.drop("valid/police-domestic-abuse-school-known.json", agency: "northshire-police") }
                #expect(await waitUntil(timeout: .seconds(30)) {
                    !logLines(bench.router.log, with: "code=breaker_open", and: ["event=alert", "destination=police-ppu"]).isEmpty
                }, "the breaker opens after 3 consecutive failures")
                let openedAt = try #require(firstLogTime(bench.router.log, with: "code=breaker_open"))
                #expect(await waitUntil(timeout: .seconds(15)) { bench.state.destinationStatus("police-ppu")?["breakerOpen"] as? Bool == true },
                        "status.json shows the breaker open")
                let statusAlerts = bench.state.statusJSON()?["alerts"] as? [String] ?? []
                #expect(statusAlerts.contains { $0.contains("police-ppu") })

                // While it is open: 200 more to the front door, at the baseline's pace.
                let failing = try await timeDelivery(of: 200, bench: bench, expectedTotal: 404)
                #expect(failing <= max(baseline * 3, baseline + 5), "healthy partner slowed: \(failing) s against \(baseline) s")
                #expect(failing < 60)
                let report = try await bench.state.statusCommand()
                #expect(report.output.contains("BREAKER OPEN"), "\(report.output)")

                // Probes: after the breaker opened, one request per cool-down at most, never two together.
                let waitedUntil = openedAt + 3 * Self.coolDown + 1.5
                try await Task.sleep(for: .seconds(max(0, waitedUntil - Date().timeIntervalSince1970)))
                let probes = try police.received().filter { $0.receivedAt > openedAt }
                #expect(!probes.isEmpty, "the open breaker still probes")
                #expect(probes.count <= 4, "at most one probe per \(Self.coolDown) s: \(probes.count) in \(waitedUntil - openedAt) s")
                if let first = probes.first {
                    #expect(first.receivedAt - openedAt >= Self.coolDown - 0.2, "the first probe waits for the cool-down: \(first.receivedAt - openedAt) s")
                }
                #expect(arrivalGaps(probes).allSatisfy { $0 >= Self.coolDown - 0.2 }, "probes one at a time: \(arrivalGaps(probes))")
                let beforeOpen = try police.received().filter { $0.receivedAt <= openedAt }.count
                // Three counted failures open it; each may have had one more transfer in flight beside it
                // (max_in_flight 2), which fails with it and is not counted again.
                #expect(beforeOpen <= 6, "3 rounds of failures open it, at most max_in_flight each: \(beforeOpen)")

                // The partner comes back: the next probe succeeds and the breaker closes.
                try police.setScript(#"{"*": [{"status": 202}]}"#)
                #expect(await waitUntil(timeout: .seconds(30)) {
                    Set((try? police.received().filter { $0.status == 202 }.compactMap(envelopeReferralId)) ?? []) == Set(policeIds)
                }, "every police referral is delivered once the partner is back")
                #expect(await waitUntil(timeout: .seconds(15)) { bench.state.destinationStatus("police-ppu")?["breakerOpen"] as? Bool == false })
                // One alert when it opened; failed probes are warnings, and the recovery is logged.
                #expect(logLines(bench.router.log, with: "code=breaker_open", and: ["destination=police-ppu"]).count == 1)
                let failedProbes = logLines(bench.router.log, with: "code=breaker_probe_failed", and: ["destination=police-ppu"]).count
                #expect((probes.count...probes.count + 1).contains(failedProbes), "\(failedProbes) failed probes logged for \(probes.count) sent")
                #expect(logLines(bench.router.log, with: "code=breaker_closed", and: ["destination=police-ppu"]).count == 1)
                #expect(try frontDoor.received().count == 404, "the front door got each referral once")
            }
        }

        /// Drops `count` referrals for the front door and returns the seconds until it has
        /// `expectedTotal` requests in all.
        private func timeDelivery(of count: Int, bench: DeliveryBench, expectedTotal: Int) async throws -> Double {
            let start = ContinuousClock.now
            for _ in 0..<count { try bench.drop() }
            _ = try await bench["la-front-door"].waitForRequests(count: expectedTotal, timeout: .seconds(90))
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }

        /// Epoch seconds of the first log line with `field`.
        private func firstLogTime(_ log: String, with field: String) -> Double? {
            guard let line = logLines(log, with: field).first, let stamp = line.split(separator: " ").first else { return nil }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.date(from: String(stamp))?.timeIntervalSince1970
        }
    }
}

extension DeliveryEndToEndTests.Isolation {
    /// Two destinations behind one gateway (same host and port, different paths): one path hanging
    /// with every transfer it may have in flight must not hold the other's connections.
    @Test func destinationsSharingAHostDoNotWaitForEachOther() async throws {
        let sandbox = try RouterSandbox(prefix: "dl-shared-host")
        defer { sandbox.remove() }
        let directory = sandbox.root + "/gateway"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let gateway = try await TestPartner.start(pki: sandbox.pki, directory: directory, script: #"""
            {"/police": [{"action": "hang", "seconds": 60}], "*": [{"status": 202}]}
            """#, name: "gateway")
        defer { gateway.stop() }
        let urls = ["la-front-door": gateway.url(path: "/referrals"), "police-ppu": gateway.url(path: "/police"),
                    "school-dsl": gateway.url(path: "/school")]
        var lines = Dictionary(uniqueKeysWithValues: Partners.destinations.map { ($0, ["max_in_flight = 4"]) })
        lines["police-ppu", default: []] += ["total_timeout_seconds = 40", "low_speed_window_seconds = 60"]
        try sandbox.writeConfiguration(destinations: DestinationSpec.shipped(urls: urls, lines: lines), drainSeconds: 1)
        let router = try await sandbox.startRouter()

        // Four police referrals hang at the gateway, filling the police destination's four transfers.
        for _ in 0..<4 {
            let id = UUID().uuidString.lowercased()
            try dropFile(try RouterSandbox.example("valid/police-domestic-abuse-school-known.json", referralId: id),
                         named: "\(id).json", into: sandbox.inbound("northshire-police"))
        }
        _ = try await gateway.waitForRequests(count: 4, path: "/police", timeout: .seconds(30))
        // The other destinations on the same host and port keep flowing.
        let start = ContinuousClock.now
        var ids: [String] = []
        for _ in 0..<40 {
            let id = UUID().uuidString.lowercased()
            ids.append(id)
            try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id),
                         named: "\(id).json", into: sandbox.inbound("health-visiting"))
        }
        let delivered = try await gateway.waitForRequests(count: 44, path: "/referrals", timeout: .seconds(30))
        let elapsed = ContinuousClock.now - start
        #expect(Set(delivered.compactMap(envelopeReferralId)).isSuperset(of: ids))
        #expect(elapsed < .seconds(15), "the front door was not held behind the hanging police path: \(elapsed)")
        #expect(try gateway.received(path: "/school").count == 4)
        #expect(await router.stop() == 0)
    }
}
