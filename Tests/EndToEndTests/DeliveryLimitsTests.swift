import Foundation
import Testing
import TestSupport

extension DeliveryEndToEndTests {
    /// The per-destination limits and guarantees: concurrency, attempts, age, a crash mid-delivery,
    /// and the loopback-only test switch for TLS verification.
    @Suite struct Limits {
        @Test func noMoreThanMaxInFlightTransfersToOneDestination() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-inflight", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": 202, "delay": 0.5}]}"#, lines: ["max_in_flight = 2"]),
            ])
            try await bench.run { bench in
                for _ in 0..<8 { try bench.drop() }
                let requests = try await bench["la-front-door"].waitForRequests(count: 8, timeout: .seconds(30))
                // Each answer takes 0.5 s: with two in flight, no three requests arrive within 0.4 s.
                let times = requests.map(\.receivedAt)
                let crowded = times.map { start in times.filter { $0 >= start && $0 < start + 0.4 }.count }.max() ?? 0
                #expect(crowded == 2, "at most 2 in flight, and 2 used: \(crowded)")
                let span = (times.max() ?? 0) - (times.min() ?? 0)
                #expect(span >= 1.4, "8 requests of 0.5 s, 2 at a time, span at least 1.5 s: \(span) s")
            }
        }

        @Test func maxAttemptsDeadLettersAPartnerThatNeverRecovers() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-max-attempts", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": 503}]}"#, lines: ["max_attempts = 3"]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                #expect(await waitUntil(timeout: .seconds(30)) { bench.receiptEntry(id)?["status"] as? String == "failed" })
                #expect(bench.receiptEntry(id)?["attempts"] as? Int == 3)
                #expect(logLines(bench.router.log, with: "event=dead-lettered", and: ["code=max_attempts"]).count == 1)
                let rows = try bench.state.query("SELECT state, last_error FROM delivery")
                #expect((rows.first?["last_error"] as? String)?.contains("gave up after 3 attempts") == true)
                try await Task.sleep(for: .seconds(1))
                #expect(try bench["la-front-door"].received().count == 3, "exactly 3 attempts")
            }
        }

        @Test func maxAgeDeadLettersADeliveryTooOldToMatter() async throws {
            // 0.001 hours is 3.6 s: a partner failing for longer than that loses the referral to the dead letters.
            let bench = try await DeliveryBench.start(prefix: "dl-max-age", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": 500}]}"#, lines: ["max_age_hours = 0.001"]),
            ])
            try await bench.run { bench in
                let dropped = ContinuousClock.now
                let id = try bench.drop()
                #expect(await waitUntil(timeout: .seconds(30)) { bench.receiptEntry(id)?["status"] as? String == "failed" })
                #expect(ContinuousClock.now - dropped >= .seconds(3.5), "kept trying for the maximum age")
                #expect(logLines(bench.router.log, with: "event=dead-lettered", and: ["code=max_age"]).count == 1)
                let attempts = try bench["la-front-door"].received().count
                #expect(attempts >= 3, "retried within its age: \(attempts) attempts")
                try await Task.sleep(for: .seconds(1))
                #expect(try bench["la-front-door"].received().count == attempts, "nothing after dead-lettering")
            }
        }

        @Test func deliveriesOutlivingMaxAgeBehindAnOpenBreakerAreDeadLetteredWithoutASend() async throws {
            // The police partner hangs; one failure opens its breaker for two minutes. Its referrals
            // pass max_age (0.002 h, 7.2 s) while paused, and are dead-lettered then, not two minutes later.
            let bench = try await DeliveryBench.start(prefix: "dl-max-age-open", partners: [
                "la-front-door": .init(), "school-dsl": .init(),
                "police-ppu": .init(script: #"{"*": [{"action": "hang", "seconds": 60}]}"#, lines: [
                    "max_in_flight = 1", "connect_timeout_seconds = 1", "total_timeout_seconds = 1", "low_speed_window_seconds = 60",
                    "breaker_failure_threshold = 1", "breaker_cooldown_seconds = 120", "max_age_hours = 0.002",
                ]),
            ])
            try await bench.run { bench in
                let dropped = ContinuousClock.now
                let ids = try (0..<4).map { _ in try bench.drop("valid/police-domestic-abuse-school-known.json", agency: "northshire-police") }
                func policeStatus(_ id: String) -> String? {
                    bench.receiptEntry(id, agency: "northshire-police", destination: "police-ppu")?["status"] as? String
                }
                #expect(await waitUntil(timeout: .seconds(30)) { ids.allSatisfy { policeStatus($0) == "failed" } },
                        "every police referral is dead-lettered once older than max_age")
                #expect(ContinuousClock.now - dropped >= .seconds(7), "not before max_age")
                #expect(ContinuousClock.now - dropped < .seconds(30), "long before the 120 s cool-down ends")
                #expect(try bench["police-ppu"].received().count == 1, "only the attempt that opened the breaker was sent")
                #expect(logLines(bench.router.log, with: "event=dead-lettered", and: ["code=max_age", "destination=police-ppu"]).count == 4)
                let reasons = try bench.state.query("SELECT last_error FROM delivery WHERE destination = 'police-ppu'").compactMap { $0["last_error"] as? String }
                #expect(reasons.count == 4 && reasons.allSatisfy { $0.contains("not delivered within 7 seconds") }, "\(reasons)")
                // The other destinations of the same referrals were delivered meanwhile.
                #expect(ids.allSatisfy { bench.receiptEntry($0, agency: "northshire-police")?["status"] as? String == "delivered" })
            }
        }

        @Test func aDeliveryInterruptedByACrashIsResentWithTheSameIdempotencyKey() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-crash", partners: [
                "la-front-door": .init(script: #"{"*": [{"action": "hang", "seconds": 60}]}"#),
            ])
            let partner = bench["la-front-door"]
            var restarted: RouterProcess?
            do {
                let id = try bench.drop()
                let first = try #require(try await partner.waitForRequests(count: 1, timeout: .seconds(30)).first)
                // The request is at the partner, the answer never came: SIGKILL now.
                bench.router.signal(SIGKILL)
                _ = await bench.router.waitForExit(timeout: .seconds(10))
                #expect(!bench.router.isRunning)
                try partner.setScript(#"{"*": [{"status": 202}]}"#)

                let router = try await bench.sandbox.startRouter(logName: "router-2.log")
                restarted = router
                let requests = try await partner.waitForRequests(count: 2, timeout: .seconds(30))
                #expect(requests.count == 2)
                #expect(requests[1].status == 202)
                #expect(envelopeReferralId(requests[1]) == id)
                #expect(requests[1].header("Idempotency-Key") == first.header("Idempotency-Key"), "the partner can drop the repeat")
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(router.log.contains("Resumed pending deliveries."))
                #expect(await router.stop() == 0)
            } catch {
                _ = await restarted?.stop()
                partner.stop()
                bench.sandbox.remove()
                throw error
            }
            partner.stop()
            bench.sandbox.remove()
        }

        @Test func theLoopbackOnlyTestSwitchIsRefusedForARemotePartner() async throws {
            let sandbox = try RouterSandbox(prefix: "dl-skip-remote")
            defer { sandbox.remove() }
            var destinations = DestinationSpec.shipped(urls: [:])
            destinations[0].url = "https://partner.example.org/referrals"
            destinations[0].lines = ["tls_verification = \"skip-for-loopback-only\""]
            try sandbox.writeConfiguration(destinations: destinations)
            let check = try RouterProcess(arguments: ["check-config", "--config", sandbox.configDirectory], logFile: sandbox.root + "/check.out")
            #expect(await check.waitForExit() != 0, "check-config refuses it")
            #expect(check.log.contains("tls_verification"), "\(check.log)")
            #expect(check.log.contains("skip-for-loopback-only is refused"))
        }

        @Test(arguments: ["127.0.0.1", "::1"])
        func theLoopbackOnlyTestSwitchIsAcceptedForLoopback(host: String) async throws {
            // The partner's certificate is from a CA nothing trusts; the switch lets a loopback test through.
            let bench = try await DeliveryBench.start(prefix: "dl-skip-loopback", partners: [
                "la-front-door": .init(serverCertificate: .wrongCA, host: host, lines: ["tls_verification = \"skip-for-loopback-only\""]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
            }
        }
    }
}
