import Foundation
import Testing
import TestSupport

extension DeliveryEndToEndTests {
    /// Answers and faults that are retried: 5xx, 503 and 429 with Retry-After in both forms, a reset
    /// mid-response, a partner trickling 1 byte/s, a partner that hangs.
    @Suite struct Retries {
        /// The retry log lines of the front door with `code`.
        private func retries(_ bench: DeliveryBench, code: String) -> [Substring] {
            logLines(bench.router.log, with: "event=retry", and: ["code=\(code)", "destination=la-front-door"])
        }

        @Test func a500ThenA200IsDeliveredOnTheSecondAttemptWithTheSameKey() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-500", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": 500}, {"status": 200}]}"#),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
                #expect(requests.map(\.status) == [500, 200])
                #expect(Set(requests.compactMap { $0.header("Idempotency-Key") }).count == 1, "one key for every attempt")
                #expect(requests.allSatisfy { envelopeReferralId($0) == id })
                // Backoff with base 0.1 s and cap 1 s: the retry comes quickly, never at once in a loop.
                let gap = try #require(arrivalGaps(requests).first)
                #expect(gap < 5, "retried within the 1 s cap (plus noise), took \(gap) s")
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(bench.receiptEntry(id)?["attempts"] as? Int == 2)
                #expect(retries(bench, code: "http_500").count == 1)
                try await Task.sleep(for: .milliseconds(500))
                #expect(try bench["la-front-door"].received().count == 2, "nothing is sent after delivery")
            }
        }

        @Test(arguments: [503, 429])
        func retryAfterInSecondsIsAFloor(status: Int) async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-ra-seconds", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": \#(status), "headers": {"Retry-After": "3"}}, {"status": 202}]}"#),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
                #expect(requests.map(\.status) == [status, 202])
                let gap = try #require(arrivalGaps(requests).first)
                // The jittered backoff alone would be at most 1 s (retry_cap_seconds = 1).
                #expect(gap >= 2.9, "Retry-After: 3 is honoured, the retry came after \(gap) s")
                #expect(gap < 10, "and not much later: \(gap) s")
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(retries(bench, code: "http_\(status)").count == 1)
            }
        }

        @Test(arguments: [503, 429])
        func retryAfterAsAnHTTPDateIsAFloor(status: Int) async throws {
            // IMF-fixdate, 4 s ahead; it has whole seconds, so the floor is between 3 and 4 s away.
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            let bench = try await DeliveryBench.start(prefix: "dl-ra-date", partners: ["la-front-door": .init()])
            try await bench.run { bench in
                // Scripted once the router runs, so the date is still ahead when the partner answers.
                let retryAt = Date().addingTimeInterval(4)
                let date = formatter.string(from: retryAt)
                try bench["la-front-door"].setScript(#"{"*": [{"status": \#(status), "headers": {"Retry-After": "\#(date)"}}, {"status": 202}]}"#)
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
                #expect(requests.map(\.status) == [status, 202])
                let second = requests[1].receivedAt
                // The date has whole seconds: the retry may come up to 1 s before `retryAt`.
                #expect(second >= retryAt.timeIntervalSince1970 - 1.05, "the retry waited for the date: \(retryAt.timeIntervalSince1970 - second) s early")
                #expect(second < retryAt.timeIntervalSince1970 + 6, "and not much longer")
                #expect(try #require(arrivalGaps(requests).first) >= 1.5, "the date is a floor well above the 1 s backoff cap")
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
            }
        }

        @Test func retryAfterIsClampedToTheConfiguredMaximum() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-ra-clamp", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": 503, "headers": {"Retry-After": "3600"}}, {"status": 202}]}"#,
                                       lines: ["retry_after_max_seconds = 2"]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
                let gap = try #require(arrivalGaps(requests).first)
                #expect(gap >= 1.9, "the clamped floor still holds: \(gap) s")
                #expect(gap < 8, "an hour asked, 2 s allowed: \(gap) s")
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
            }
        }

        @Test func retryAfterPausesTheWholeDestination() async throws {
            // A 503 with Retry-After speaks for the partner: the other queued referrals wait too.
            let bench = try await DeliveryBench.start(prefix: "dl-ra-pause", partners: [
                "la-front-door": .init(script: #"{"*": [{"status": 503, "headers": {"Retry-After": "3"}}, {"status": 202}]}"#,
                                       lines: ["max_in_flight = 1"]),
            ])
            try await bench.run { bench in
                let first = try bench.drop()
                _ = try await bench["la-front-door"].waitForRequests(count: 1, timeout: .seconds(30))
                let others = try (0..<5).map { _ in try bench.drop() }
                let requests = try await bench["la-front-door"].waitForRequests(count: 7, timeout: .seconds(30))
                let start = requests[0].receivedAt
                #expect(requests.dropFirst().allSatisfy { $0.receivedAt - start >= 2.9 },
                        "nothing reached the partner before its Retry-After ran out: \(requests.map { $0.receivedAt - start })")
                #expect(Set(requests.compactMap(envelopeReferralId)) == Set([first] + others))
                #expect(requests.dropFirst().allSatisfy { $0.status == 202 })
            }
        }

        @Test func aResetMidResponseIsRetried() async throws {
            // The partner sends "200 OK" and part of a body, then an RST: not delivered, sent again.
            let bench = try await DeliveryBench.start(prefix: "dl-reset", partners: [
                "la-front-door": .init(script: #"{"*": [{"action": "reset", "partial": true, "status": 200}, {"status": 202}]}"#),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
                #expect(requests.map(\.action) == ["reset", nil])
                #expect(Set(requests.compactMap { $0.header("Idempotency-Key") }).count == 1)
                #expect(try #require(arrivalGaps(requests).first) < 5)
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(bench.receiptEntry(id)?["attempts"] as? Int == 2)
                #expect(retries(bench, code: "receive").count == 1, "a cut answer is a receive failure")
            }
        }

        @Test func aPartnerTricklingOneBytePerSecondIsCutByTheLowSpeedLimitAndRetried() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-stall", partners: [
                "la-front-door": .init(script: #"{"*": [{"action": "stall", "seconds": 60, "status": 200}, {"status": 202}]}"#,
                                       lines: ["low_speed_bytes_per_second = 64", "low_speed_window_seconds = 2", "total_timeout_seconds = 60"]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
                #expect(requests.map(\.action) == ["stall", nil])
                let gap = try #require(arrivalGaps(requests).first)
                #expect(gap >= 1.9, "cut after the 2 s window, not before: \(gap) s")
                // curl averages the speed over its last ~5 s, the request's upload included, so the 2 s
                // window starts counting a few seconds in: about 8 s measured here.
                #expect(gap < 16, "cut long before the 60 s stall or total timeout: \(gap) s")
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(retries(bench, code: "low_speed").count == 1)
            }
        }

        @Test func aPartnerThatHangsIsCutByTheTotalTimeoutAndRetried() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-hang", partners: [
                "la-front-door": .init(script: #"{"*": [{"action": "hang", "seconds": 60}, {"status": 202}]}"#,
                                       lines: ["connect_timeout_seconds = 1", "total_timeout_seconds = 2", "low_speed_window_seconds = 120"]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
                #expect(requests.map(\.action) == ["hang", nil])
                let gap = try #require(arrivalGaps(requests).first)
                #expect(gap >= 1.9, "cut at the 2 s total timeout: \(gap) s")
                #expect(gap < 10, "long before the 60 s hang ends: \(gap) s")
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(retries(bench, code: "timeout").count == 1)
            }
        }
    }
}
