import Foundation
import Testing
import TestSupport

/// The built daemon as a child process, real folders, inotify, SQLite, libcurl and HTTPS partners.
@Suite(.serialized)
struct RouterEndToEndTests {
    @Test func droppedReferralsAreEachDeliveredOnceWithOnlyTheirAllowedFields() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-deliver")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()

        let ids = (0..<20).map { _ in UUID().uuidString.lowercased() }
        for (index, id) in ids.enumerated() {
            try dropFile(try RouterSandbox.example("valid/typical-school-neglect.json", referralId: id),
                         named: "referral-\(index).json", into: sandbox.inbound("oakfield-primary"))
        }
        // R2 (safeguarding) + R4 (school known, neglect): the front door and the school DSL.
        _ = try await partners["la-front-door"].waitForRequests(count: 20, timeout: .seconds(60))
        _ = try await partners["school-dsl"].waitForRequests(count: 20, timeout: .seconds(60))
        #expect(try partners.referralIds(at: "la-front-door").sorted() == ids.sorted())
        #expect(try partners.referralIds(at: "school-dsl").sorted() == ids.sorted())
        #expect(try partners["police-ppu"].received().isEmpty)
        #expect(try partners["health-safeguarding"].received().isEmpty)

        for request in try partners["school-dsl"].received() {
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            #expect(request.header("Idempotency-Key") == envelope["idempotencyKey"] as? String)
            #expect(envelope["rule"] as? String == "R4")
            #expect(envelope["basis"] as? String == "safeguarding")
            #expect(envelope["sourceAgency"] as? String == "oakfield-primary")
            let referral = try #require(envelope["referral"] as? [String: Any])
            let child = try #require(referral["child"] as? [String: Any])
            #expect(Set(child.keys).isSubset(of: ["givenName", "familyName", "dateOfBirth", "upn", "school"]))
            #expect(referral["household"] == nil, "the school never receives the household")
            let concern = try #require(referral["concern"] as? [String: Any])
            #expect(concern["description"] == nil, "the school never receives the narrative")
            #expect((concern["categories"] as? [String])?.contains("neglect") == true, "neglect maps to its group, named neglect")
        }
        for request in try partners["la-front-door"].received() {
            let envelope = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
            let referral = try #require(envelope["referral"] as? [String: Any])
            let original = try #require(try JSONSerialization.jsonObject(with: Data(RouterSandbox.example("valid/typical-school-neglect.json"))) as? [String: Any])
            #expect(Set(referral.keys) == Set(original.keys), "the front door receives the whole referral")
        }

        // Receipts: accepted, each destination delivered; the inbound folder is empty.
        let receiptsDone = await waitUntil(timeout: .seconds(20)) {
            ids.allSatisfy { id in
                guard let receipt = readJSONObject(sandbox.receipts("oakfield-primary") + "/\(id).json"),
                      let destinations = receipt["destinations"] as? [[String: Any]] else { return false }
                return receipt["status"] as? String == "ACCEPTED" && destinations.count == 2
                    && destinations.allSatisfy { $0["status"] as? String == "delivered" }
            }
        }
        #expect(receiptsDone)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.inbound("oakfield-primary")).isEmpty)
        #expect(await router.stop() == 0)
        #expect(!router.log.contains("Tomasz"), "no child's name in the log")
    }

    @Test func invalidReferralLandsInRejectedWithItsReportAndIsSentNowhere() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-reject")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()

        try dropFile(try RouterSandbox.example("invalid/nhs-number-bad-check-digit.json"), named: "bad.json",
                     into: sandbox.inbound("riverside-medical"))
        try dropFile(Array("{\"referralId\": ".utf8), named: "truncated.json", into: sandbox.inbound("riverside-medical"))
        let rejected = sandbox.rejected("riverside-medical")
        #expect(await waitUntil { FileManager.default.fileExists(atPath: rejected + "/truncated.json.errors.json")
                                    && FileManager.default.fileExists(atPath: rejected + "/bad.json.errors.json") })
        #expect(FileManager.default.fileExists(atPath: rejected + "/bad.json"))
        let report = try #require(readJSONObject(rejected + "/bad.json.errors.json"))
        let errors = try #require(report["errors"] as? [[String: Any]])
        let nhs = try #require(errors.first { $0["pointer"] as? String == "/child/nhsNumber" })
        #expect(nhs["keyword"] as? String == "format")
        #expect((nhs["message"] as? String)?.contains("check digit") == true)
        #expect((nhs["line"] as? Int ?? 0) > 1)
        #expect((nhs["column"] as? Int ?? 0) > 0)
        let truncated = try #require((readJSONObject(rejected + "/truncated.json.errors.json")?["errors"] as? [[String: Any]])?.first)
        #expect(truncated["keyword"] as? String == "json")
        #expect(truncated["line"] as? Int == 1)

        let receipts = try FileManager.default.contentsOfDirectory(atPath: sandbox.receipts("riverside-medical"))
        #expect(await waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: sandbox.receipts("riverside-medical")).count) == 2 } || receipts.count == 2)
        for name in try FileManager.default.contentsOfDirectory(atPath: sandbox.receipts("riverside-medical")) {
            #expect(readJSONObject(sandbox.receipts("riverside-medical") + "/" + name)?["status"] as? String == "REJECTED")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.inbound("riverside-medical")).isEmpty)
        for destination in Partners.destinations { #expect(try partners[destination].received().isEmpty) }
        #expect(await router.stop() == 0)
    }

    @Test func partnerAnswering503ThenAcceptingIsRetriedWithTheSameIdempotencyKey() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-retry")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox, scripts: [
            "la-front-door": #"{"*": [{"status": 503, "headers": {"Retry-After": "1"}}, {"status": 202}]}"#,
        ])
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()

        let id = UUID().uuidString.lowercased()
        let dropped = ContinuousClock.now
        try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r.json",
                     into: sandbox.inbound("health-visiting"))
        let requests = try await partners["la-front-door"].waitForRequests(count: 2, timeout: .seconds(30))
        let elapsed = ContinuousClock.now - dropped
        #expect(requests.map(\.status) == [503, 202])
        #expect(Set(requests.compactMap { $0.header("Idempotency-Key") }).count == 1)
        #expect(elapsed >= .seconds(1), "Retry-After: 1 is honoured as a floor")
        let receiptPath = sandbox.receipts("health-visiting") + "/\(id).json"
        #expect(await waitUntil {
            let destinations = readJSONObject(receiptPath)?["destinations"] as? [[String: Any]]
            return destinations?.first?["status"] as? String == "delivered" && destinations?.first?["attempts"] as? Int == 2
        })
        #expect(router.log.contains("event=retry"))
        #expect(await router.stop() == 0)
    }

    @Test func pendingDeliveriesCompleteAfterARestart() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-restart")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox, scripts: ["la-front-door": #"{"*": [{"status": 503}]}"#])
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        var router = try await sandbox.startRouter()

        let ids = (0..<5).map { _ in UUID().uuidString.lowercased() }
        for (index, id) in ids.enumerated() {
            try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r\(index).json",
                         into: sandbox.inbound("health-visiting"))
        }
        _ = try await partners["la-front-door"].waitForRequests(count: 5, timeout: .seconds(30))
        #expect(await router.stop() == 0, "SIGTERM with deliveries pending still exits 0")
        let keysBefore = Set(try partners["la-front-door"].received().compactMap { $0.header("Idempotency-Key") })

        try partners["la-front-door"].setScript(#"{"*": [{"status": 202}]}"#)
        router = try await sandbox.startRouter(logName: "router-2.log")
        #expect(await waitUntil(timeout: .seconds(30)) {
            Set((try? partners.referralIds(at: "la-front-door", status: 202)) ?? []) == Set(ids)
        })
        let keysAfter = Set(try partners["la-front-door"].received().filter { $0.status == 202 }.compactMap { $0.header("Idempotency-Key") })
        #expect(keysAfter == keysBefore, "a delivery keeps its idempotency key across restarts")
        #expect(router.log.contains("Resumed pending deliveries."))
        #expect(await waitUntil { ids.allSatisfy { id in
            (readJSONObject(sandbox.receipts("health-visiting") + "/\(id).json")?["destinations"] as? [[String: Any]])?.first?["status"] as? String == "delivered"
        } })
        #expect(await router.stop() == 0)
    }

    @Test func sigkillDuringIntakeLosesNothing() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-sigkill")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        var router = try await sandbox.startRouter()

        let ids = (0..<60).map { _ in UUID().uuidString.lowercased() }
        for (index, id) in ids.enumerated() {
            try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r\(index).json",
                         into: sandbox.inbound("oakfield-primary"))
            if index == 30 { router.signal(SIGKILL) }
        }
        _ = await router.waitForExit(timeout: .seconds(10))
        router = try await sandbox.startRouter(logName: "router-2.log")
        #expect(await waitUntil(timeout: .seconds(60)) {
            Set((try? partners.referralIds(at: "la-front-door")) ?? []) == Set(ids)
        }, "every referral arrives after a crash: nothing lost")
        #expect(await waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: sandbox.inbound("oakfield-primary")).isEmpty) == true })
        // At-least-once: a repeat after the crash carries the same idempotency key as the first copy.
        var keys: [String: Set<String>] = [:]
        for request in try partners["la-front-door"].received() {
            guard let envelope = try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                  let id = envelope["referralId"] as? String else { continue }
            keys[id, default: []].insert(request.header("Idempotency-Key") ?? "")
        }
        #expect(keys.values.allSatisfy { $0.count == 1 })
        #expect(await router.stop() == 0)
    }
}
