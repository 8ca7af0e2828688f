import Foundation
import Testing
import TestSupport

/// Intake against hostile and unusual entries, duplicates across restarts, and shutdown draining.
@Suite(.serialized)
struct IntakeEndToEndTests {
    @Test func hostileEntriesAreRefusedWithAReasonAndNeverFollowedOrRead() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-hostile")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        try sandbox.editRouterConfiguration(replacing: "min_free_bytes = 0", with: "min_free_bytes = 0\nmax_file_bytes = 8192")
        let router = try await sandbox.startRouter()
        let inbound = sandbox.inbound("northshire-police")
        let rejected = sandbox.rejected("northshire-police")

        // A symlink to a valid referral elsewhere: refused, the target never read nor moved.
        let outside = sandbox.root + "/outside.json"
        try Data(try RouterSandbox.example("valid/minimal-safeguarding.json")).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: inbound + "/link.json", withDestinationPath: outside)
        // A FIFO (opening it for reading would block), a directory, and an oversized file.
        #expect(mkfifo(inbound + "/pipe.json", 0o600) == 0)
        try FileManager.default.createDirectory(atPath: inbound + "/folder.json", withIntermediateDirectories: false)
        try dropFile(Array(repeating: UInt8(ascii: " "), count: 9000) + Array("{}".utf8), named: "big.json", into: inbound)
        // In-progress names are left alone until renamed.
        try Data(try RouterSandbox.example("valid/minimal-safeguarding.json")).write(to: URL(fileURLWithPath: inbound + "/later.json.part"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: inbound + "/.hidden"))

        for name in ["link.json", "pipe.json", "folder.json", "big.json"] {
            #expect(await waitUntil { FileManager.default.fileExists(atPath: rejected + "/\(name).errors.json") }, "\(name) refused")
        }
        func reason(_ name: String) -> String {
            ((readJSONObject(rejected + "/\(name).errors.json")?["errors"] as? [[String: Any]])?.first?["message"] as? String) ?? ""
        }
        #expect(reason("link.json").contains("symbolic link"))
        #expect(reason("pipe.json").contains("fifo"))
        #expect(reason("folder.json").contains("directory"))
        #expect(reason("big.json").contains("limit is 8192 bytes"))
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: rejected + "/link.json")) == outside, "the link itself was moved")
        #expect(FileManager.default.fileExists(atPath: outside), "its target is untouched")
        #expect(try partners["la-front-door"].received().isEmpty, "nothing refused was sent")
        #expect(FileManager.default.fileExists(atPath: inbound + "/later.json.part"))
        #expect(FileManager.default.fileExists(atPath: inbound + "/.hidden"))

        try FileManager.default.moveItem(atPath: inbound + "/later.json.part", toPath: inbound + "/later.json")
        _ = try await partners["la-front-door"].waitForRequests(count: 1, timeout: .seconds(20))
        #expect(FileManager.default.fileExists(atPath: inbound + "/.hidden"), "hidden files are never taken")
        #expect(router.isRunning)
        #expect(await router.stop() == 0)
    }

    /// `max_waiting_files` bounds what intake holds in memory. A backlog larger than it, in a folder
    /// crowded with names still being written, is still taken in full, and at once: not at the next
    /// periodic rescan (an hour away here).
    @Test func aBacklogLargerThanTheWaitingLimitIsTakenInFullWithoutWaitingForARescan() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-backlog")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        try sandbox.editRouterConfiguration(replacing: "rescan_interval_seconds = 30", with: "rescan_interval_seconds = 3600\nbatch_max_files = 4\nmax_waiting_files = 8")
        let inbound = sandbox.inbound("health-visiting")
        try FileManager.default.createDirectory(atPath: inbound, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var ids: [String] = []
        for index in 0..<40 {
            let id = UUID().uuidString.lowercased()
            ids.append(id)
            try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r\(index).json", into: inbound)
        }
        for index in 0..<30 { try Data("{".utf8).write(to: URL(fileURLWithPath: inbound + "/busy\(index).json.part")) }
        // Names that are not UTF-8 cannot be taken either; more of them than the limit must not make
        // intake list the folder again and again.
        for index in 0..<12 {
            let name = Array(inbound.utf8) + Array("/bad-\(index)-".utf8) + [0xFF, 0xFE] + Array(".json".utf8) + [0]
            let descriptor = name.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o600) }
            }
            #expect(descriptor >= 0)
            close(descriptor)
        }

        let router = try await sandbox.startRouter()
        #expect(await waitUntil(timeout: .seconds(60)) {
            ((try? FileManager.default.contentsOfDirectory(atPath: inbound)) ?? []).filter { $0.hasPrefix("r") }.isEmpty
        }, "every ready file taken")
        #expect(await waitUntil(timeout: .seconds(60)) { Set((try? partners.referralIds(at: "la-front-door")) ?? []) == Set(ids) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: inbound).count == 42, "names still being written, and names not UTF-8, are left")
        // Each listing reports each such name once; with nothing left to take there are few listings.
        let settled = router.log.components(separatedBy: "undecodable_name").count - 1
        try await Task.sleep(for: .seconds(2))
        let reports = router.log.components(separatedBy: "undecodable_name").count - 1
        // At most one listing per file taken (each lists the 12 again), and none once nothing is left.
        #expect(settled >= 12 && settled <= 12 * 40, "\(settled) reports while taking 40 files")
        #expect(reports == settled, "no listing once nothing is left to take")
        #expect(await router.stop() == 0)
    }

    @Test func duplicatesAreRecordedNotQueuedTwiceEvenAcrossARestart() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-duplicates")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        var router = try await sandbox.startRouter()
        let id = UUID().uuidString.lowercased()
        let bytes = try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id)
        try dropFile(bytes, named: "first.json", into: sandbox.inbound("health-visiting"))
        _ = try await partners["la-front-door"].waitForRequests(count: 1, timeout: .seconds(20))
        #expect(await router.stop() == 0)

        router = try await sandbox.startRouter(logName: "router-2.log")
        try dropFile(bytes, named: "again.json", into: sandbox.inbound("health-visiting"))
        #expect(await waitUntil { router.log.contains("event=duplicate") })
        // Same referralId, different content: a conflict, rejected with its reason, nothing sent.
        let changed = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"routine\"", with: "\"urgent\"")
        #expect(changed != String(decoding: bytes, as: UTF8.self))
        try dropFile(Array(changed.utf8), named: "changed.json", into: sandbox.inbound("health-visiting"))
        let report = sandbox.rejected("health-visiting") + "/changed.json.errors.json"
        #expect(await waitUntil { FileManager.default.fileExists(atPath: report) })
        let message = ((readJSONObject(report)?["errors"] as? [[String: Any]])?.last?["message"] as? String) ?? ""
        #expect(message.contains("already accepted"))
        try await Task.sleep(for: .milliseconds(500))
        #expect(try partners.referralIds(at: "la-front-door") == [id], "delivered exactly once")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.inbound("health-visiting")).isEmpty)
        #expect(readJSONObject(sandbox.receipts("health-visiting") + "/\(id).json")?["status"] as? String == "ACCEPTED",
                "the original's receipt is not overwritten by the conflict")
        #expect(await router.stop() == 0)
    }

    @Test func aReturnedReferralCorrectedAndResentUnderTheSameIdIsAccepted() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-resubmit")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()
        let original = try RouterSandbox.example("valid/information-only-consent-refused.json")
        let id = try #require((try JSONSerialization.jsonObject(with: Data(original)) as? [String: Any])?["referralId"] as? String)
        try dropFile(original, named: "first.json", into: sandbox.inbound("oakfield-primary"))
        let receipt = sandbox.receipts("oakfield-primary") + "/\(id).json"
        #expect(await waitUntil { readJSONObject(receipt)?["status"] as? String == "RETURNED" })

        // The referrer decides it is a safeguarding matter after all and resends it, same referralId.
        let corrected = String(decoding: original, as: UTF8.self)
            .replacingOccurrences(of: "\"referralType\": \"information-only\"", with: "\"referralType\": \"safeguarding\"")
        #expect(corrected != String(decoding: original, as: UTF8.self))
        try dropFile(Array(corrected.utf8), named: "second.json", into: sandbox.inbound("oakfield-primary"))
        #expect(await waitUntil { readJSONObject(receipt)?["status"] as? String == "ACCEPTED" }, "the resubmission takes over the receipt")
        _ = try await partners["la-front-door"].waitForRequests(count: 1, timeout: .seconds(20))
        #expect(try partners.referralIds(at: "la-front-door") == [id])
        #expect(!FileManager.default.fileExists(atPath: sandbox.rejected("oakfield-primary") + "/second.json"))
        #expect(await router.stop() == 0)
    }

    @Test func aRejectedReferralCorrectedAndResentTakesOverItsReceipt() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-resubmit-rejected")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        let router = try await sandbox.startRouter()
        let id = UUID().uuidString.lowercased()
        let valid = try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id)
        let broken = String(decoding: valid, as: UTF8.self).replacingOccurrences(of: "\"safeguarding\"", with: "\"safe-guarding\"")
        try dropFile(Array(broken.utf8), named: "broken.json", into: sandbox.inbound("health-visiting"))
        let receipt = sandbox.receipts("health-visiting") + "/\(id).json"
        #expect(await waitUntil { readJSONObject(receipt)?["status"] as? String == "REJECTED" })
        try dropFile(valid, named: "fixed.json", into: sandbox.inbound("health-visiting"))
        #expect(await waitUntil { readJSONObject(receipt)?["status"] as? String == "ACCEPTED" }, "the corrected version takes over the receipt")
        #expect(await router.stop() == 0)
    }

    @Test func aRejectedFileThatCannotBeMovedIsRecordedOnceNotAtEveryRescan() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-stuck")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls)
        try sandbox.editRouterConfiguration(replacing: "rescan_interval_seconds = 30", with: "rescan_interval_seconds = 1")
        let router = try await sandbox.startRouter()
        // The agency's rejected folder replaced by a plain file: the move must fail.
        try FileManager.default.removeItem(atPath: sandbox.rejected("riverside-medical"))
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: sandbox.rejected("riverside-medical")))
        try dropFile(try RouterSandbox.example("invalid/nhs-number-bad-check-digit.json"), named: "bad.json", into: sandbox.inbound("riverside-medical"))
        #expect(await waitUntil { router.log.contains("could not be moved to the agency's rejected folder") })
        try await Task.sleep(for: .seconds(4))   // several 1 s rescans
        let state = RouterState(sandbox: sandbox)
        let rejected = try state.query("SELECT COUNT(*) AS n FROM referral WHERE receipt_code = 'REJECTED'")
        #expect(rejected.first?["n"] as? Int == 1, "one record, not one per rescan")
        #expect(FileManager.default.fileExists(atPath: sandbox.inbound("riverside-medical") + "/bad.json"), "the file is kept")
        #expect(router.log.components(separatedBy: "could not be moved").count == 2, "reported once")
        #expect(await router.stop() == 0)
    }

    @Test func sigtermLetsAnInFlightTransferFinishThenExitsZero() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-drain")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox, scripts: ["la-front-door": #"{"*": [{"status": 202, "delay": 2}]}"#])
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls, drainSeconds: 10)
        let router = try await sandbox.startRouter()
        let id = UUID().uuidString.lowercased()
        try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r.json",
                     into: sandbox.inbound("health-visiting"))
        #expect(await waitUntil { router.log.contains("Delivery queued.") || (try? partners["la-front-door"].received().isEmpty) == false })
        try await Task.sleep(for: .milliseconds(300))
        let stopped = ContinuousClock.now
        #expect(await router.stop() == 0)
        let took = ContinuousClock.now - stopped
        #expect(took < .seconds(9), "drained well within shutdown_drain_seconds")
        #expect(router.log.contains("Referral delivered."), "the in-flight transfer finished before exit")
        #expect((readJSONObject(sandbox.receipts("health-visiting") + "/\(id).json")?["destinations"] as? [[String: Any]])?.first?["status"] as? String == "delivered")
    }

    @Test func aTransferThatOutlivesTheDrainDeadlineIsAbortedAndStaysQueued() async throws {
        let sandbox = try RouterSandbox(prefix: "e2e-deadline")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox, scripts: ["la-front-door": #"{"*": [{"action": "hang", "seconds": 60}]}"#])
        defer { partners.stop() }
        try sandbox.writeShippedDestinations(urls: partners.urls, drainSeconds: 2)
        var router = try await sandbox.startRouter()
        let id = UUID().uuidString.lowercased()
        try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r.json",
                     into: sandbox.inbound("health-visiting"))
        _ = try await partners["la-front-door"].waitForRequests(count: 1, timeout: .seconds(20))
        let stopped = ContinuousClock.now
        #expect(await router.stop(timeout: .seconds(20)) == 0)
        let took = ContinuousClock.now - stopped
        #expect(took >= .seconds(2) && took < .seconds(15), "aborted at the 2 s drain deadline (not the 60 s hang), took \(took)")
        try partners["la-front-door"].setScript(#"{"*": [{"status": 202}]}"#)
        router = try await sandbox.startRouter(logName: "router-2.log")
        #expect(await waitUntil { (try? partners.referralIds(at: "la-front-door", status: 202)) == [id] }, "still queued, delivered after restart")
        #expect(await router.stop() == 0)
    }
}
