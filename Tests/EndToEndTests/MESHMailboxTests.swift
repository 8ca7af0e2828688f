import Foundation
import Testing
import TestSupport

/// Issue 8: an agency's NHS MESH mailbox drained as a second intake, against mesh-sandbox on
/// 127.0.0.1 (AUTH_MODE=full, mutual TLS required), with the built daemon as a child process.
/// The health partner sends from X26ABC1 to the router's mailbox X26ABC2 on TEST_WORKFLOW; receipts
/// go back on TEST_WORKFLOW_ACK.
@Suite(.serialized, .enabled("needs python3 with mesh-sandbox and mesh-client (scripts/test installs them)") { await MESHSandbox.unavailableReason == nil })
struct MESHMailboxTests {
    static let partner = "X26ABC1"
    static let routerMailbox = "X26ABC2"
    static let agency = "riverside-nhs-trust"

    /// A running sandbox, partners and router draining X26ABC2 for `agency`.
    struct Running {
        let sandbox: RouterSandbox
        let mesh: MESHSandbox
        let partners: Partners
        var router: RouterProcess
        var database: String { sandbox.stateDirectory + "/router.sqlite" }

        /// Ends everything at once (the tests stop the router gracefully themselves first).
        func close() {
            router.signal(SIGKILL)
            partners.stop()
            mesh.stop()
            sandbox.remove()
        }

        func query(_ sql: String) throws -> [[String]] { try MESHSandbox.query(database: database, sql) }

        /// Receipts that reached the partner's mailbox (downloaded and acknowledged), as JSON objects.
        func takeReceipts() async throws -> [[String: Any]] {
            var receipts: [[String: Any]] = []
            for id in try await mesh.inbox(MESHMailboxTests.partner) {
                let message = try await mesh.message(id, in: MESHMailboxTests.partner)
                #expect(message.headers["mex-workflowid"] == "TEST_WORKFLOW_ACK")
                try await mesh.acknowledge(id, in: MESHMailboxTests.partner)
                receipts.append(try #require(try JSONSerialization.jsonObject(with: Data(message.body)) as? [String: Any]))
            }
            return receipts
        }
    }

    /// `beforeStart` runs against the sandbox before the router starts (to fill the mailbox first).
    static func start(prefix: String, agencyExtra: String = "", pollIntervalSeconds: Int = 1, environment: [String: String] = [:],
                      beforeStart: (MESHSandbox) async throws -> Void = { _ in }) async throws -> Running {
        let sandbox = try RouterSandbox(prefix: prefix)
        let mesh = try await MESHSandbox.start(pki: sandbox.pki, directory: sandbox.root)
        let partners = try await Partners.start(sandbox)
        let secrets = try mesh.writeSecrets(into: sandbox.root)
        try sandbox.writeShippedDestinations(urls: partners.urls,
                                             extra: mesh.agencyTOML(id: agency, mailbox: routerMailbox, secrets: secrets,
                                                                    pollIntervalSeconds: pollIntervalSeconds, extra: agencyExtra))
        try await beforeStart(mesh)
        let router = try await sandbox.startRouter(environment: environment)
        return Running(sandbox: sandbox, mesh: mesh, partners: partners, router: router)
    }

    @Test func aReferralSentOverMESHIsDeliveredToItsPartnersAcknowledgedAndReceipted() async throws {
        let run = try await Self.start(prefix: "mesh-intake")
        defer { run.close() }
        let id = UUID().uuidString.lowercased()
        let bytes = try RouterSandbox.example("valid/typical-school-neglect.json", referralId: id)
        let messageID = try await run.mesh.send(from: Self.partner, to: Self.routerMailbox, workflowID: "TEST_WORKFLOW", body: bytes,
                                          localID: "trust-ref-1", checksum: "sha256:" + sha256Hex(bytes))
        // A message on a workflow the mailbox does not accept: recorded, counted, left where it is.
        let other = try await run.mesh.send(from: Self.partner, to: Self.routerMailbox, workflowID: "TEST_WORKFLOW2", body: Array("{}".utf8))

        // R2 + R4: the front door and the school DSL, over HTTPS, with the MESH agency as the source.
        _ = try await run.partners["la-front-door"].waitForRequests(count: 1, timeout: .seconds(30))
        _ = try await run.partners["school-dsl"].waitForRequests(count: 1, timeout: .seconds(30))
        #expect(try run.partners.referralIds(at: "la-front-door") == [id])
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(run.partners["la-front-door"].received()[0].body)) as? [String: Any])
        #expect(envelope["sourceAgency"] as? String == Self.agency)
        #expect(try run.partners["health-safeguarding"].received().isEmpty)

        // Acknowledged only after commit: gone from the inbox; the unaccepted message stays.
        #expect(await waitUntil { (try? await run.mesh.inbox(Self.routerMailbox)) == [other] })
        let referral = try run.query("SELECT source_kind, source_name, source_detail, receipt_code FROM referral WHERE referral_id = '\(id)'")
        #expect(referral.count == 1)
        #expect(referral.first?[0] == "mesh" && referral.first?[1] == messageID && referral.first?[3] == "ACCEPTED")
        #expect(referral.first?[2].contains("\"from\":\"X26ABC1\"") == true && referral.first?[2].contains("TEST_WORKFLOW") == true)
        try await Task.sleep(for: .seconds(2))   // more polls: the left message is not recorded twice
        let recorded = try run.query("SELECT message_id, outcome, acknowledged_at IS NOT NULL FROM mesh_message ORDER BY outcome")
        #expect(recorded == [[messageID, "referral", "1"], [other, "unaccepted-workflow", "0"]])
        #expect(run.router.log.components(separatedBy: "code=mesh_unaccepted_workflow").count == 2, "counted once")

        // The sender's receipts: the decision, then the final one once both deliveries are done.
        var receipts: [[String: Any]] = []
        #expect(await waitUntil(timeout: .seconds(30)) {
            receipts += (try? await run.takeReceipts()) ?? []
            return receipts.count >= 2
        })
        #expect(receipts.allSatisfy { $0["referralId"] as? String == id && $0["status"] as? String == "ACCEPTED" })
        let final = try #require(receipts.last?["destinations"] as? [[String: Any]])
        #expect(final.count == 2 && final.allSatisfy { $0["status"] as? String == "delivered" })
        #expect(run.router.log.contains("MESH mailbox polled."))
        #expect(!run.router.log.contains("Tomasz"), "no child's name in the log")
        #expect(await run.router.stop() == 0)
    }

    @Test func anInvalidReferralIsRejectedAcknowledgedAndTheSenderGetsTheRejectionReceipt() async throws {
        let run = try await Self.start(prefix: "mesh-reject")
        defer { run.close() }
        let messageID = try await run.mesh.send(from: Self.partner, to: Self.routerMailbox, workflowID: "TEST_WORKFLOW",
                                          body: try RouterSandbox.example("invalid/nhs-number-bad-check-digit.json"))
        var receipts: [[String: Any]] = []
        #expect(await waitUntil(timeout: .seconds(30)) {
            receipts += (try? await run.takeReceipts()) ?? []
            return !receipts.isEmpty
        })
        let receipt = try #require(receipts.first)
        #expect(receipt["status"] as? String == "REJECTED")
        #expect(receipt["source"] as? String == messageID)
        let errors = try #require(receipt["errors"] as? [[String: Any]])
        #expect(errors.contains { $0["pointer"] as? String == "/child/nhsNumber" && $0["keyword"] as? String == "format" })
        #expect(try await run.mesh.inbox(Self.routerMailbox).isEmpty, "acknowledged")
        #expect(try run.query("SELECT receipt_code FROM referral WHERE source_name = '\(messageID)'") == [["REJECTED"]])
        for destination in Partners.destinations { #expect(try run.partners[destination].received().isEmpty) }
        try await Task.sleep(for: .seconds(2))
        #expect(try await run.mesh.inbox(Self.partner).isEmpty, "a rejected referral has no deliveries, so no second receipt")
        #expect(await run.router.stop() == 0)
    }

    @Test func aChunkedMessageIsReassembledAndRoutedOnce() async throws {
        let run = try await Self.start(prefix: "mesh-chunks")
        defer { run.close() }
        let id = UUID().uuidString.lowercased()
        let bytes = try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id)
        let chunkSize = max(bytes.count / 4, 100)
        #expect(bytes.count > chunkSize * 3, "at least four chunks")
        let messageID = try await run.mesh.send(from: Self.partner, to: Self.routerMailbox, workflowID: "TEST_WORKFLOW", body: bytes, chunkSize: chunkSize)
        _ = try await run.partners["la-front-door"].waitForRequests(count: 1, timeout: .seconds(30))
        #expect(await waitUntil { (try? await run.mesh.inbox(Self.routerMailbox).isEmpty) == true })
        try await Task.sleep(for: .seconds(2))
        #expect(try run.partners.referralIds(at: "la-front-door") == [id], "routed once")
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(run.partners["la-front-door"].received()[0].body)) as? [String: Any])
        let original = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
        #expect((envelope["referral"] as? NSDictionary) == original, "the reassembled referral is the one sent")
        #expect(try run.query("SELECT content_sha256 = x'\(sha256Hex(bytes))' FROM referral WHERE source_name = '\(messageID)'") == [["1"]])
        #expect(await run.router.stop() == 0)
    }

    @Test func aBacklogLongerThanOnePageIsDrainedInOnePollFollowingLinksNext() async throws {
        // Pages of 10, 12 messages waiting, and an hour between polls: only paging drains them now.
        let ids = (0..<12).map { _ in UUID().uuidString.lowercased() }
        let run = try await Self.start(prefix: "mesh-pages", agencyExtra: "inbox_page_size = 10\n", pollIntervalSeconds: 3600) { mesh in
            for id in ids {
                try await mesh.send(from: Self.partner, to: Self.routerMailbox, workflowID: "TEST_WORKFLOW",
                              body: try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id))
            }
        }
        defer { run.close() }
        #expect(await waitUntil(timeout: .seconds(60)) { Set((try? run.partners.referralIds(at: "la-front-door")) ?? []) == Set(ids) })
        #expect(try await run.mesh.inbox(Self.routerMailbox).isEmpty)
        #expect(try run.query("SELECT COUNT(*) FROM mesh_message WHERE outcome = 'referral' AND acknowledged_at IS NOT NULL") == [["12"]])
        #expect(run.router.log.contains("count=12"), "one poll took all twelve, across two pages")
        #expect(await run.router.stop() == 0)
    }

    @Test func aMessageLeftOnAnUnacceptedWorkflowIsTakenOnceAReloadAcceptsIt() async throws {
        let run = try await Self.start(prefix: "mesh-reload")
        defer { run.close() }
        let id = UUID().uuidString.lowercased()
        let messageID = try await run.mesh.send(from: Self.partner, to: Self.routerMailbox, workflowID: "TEST_WORKFLOW2",
                                          body: try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id))
        #expect(await waitUntil { (try? run.query("SELECT outcome FROM mesh_message")) == [["unaccepted-workflow"]] })
        try await Task.sleep(for: .seconds(2))
        #expect(try await run.mesh.inbox(Self.routerMailbox) == [messageID], "left in the mailbox")
        #expect(try run.partners["la-front-door"].received().isEmpty)

        // The administrator accepts the workflow and reloads: the new poller takes the message.
        let toml = run.sandbox.configDirectory + "/router.toml"
        try String(contentsOfFile: toml, encoding: .utf8)
            .replacingOccurrences(of: #"accepted_workflow_ids = ["TEST_WORKFLOW"]"#, with: #"accepted_workflow_ids = ["TEST_WORKFLOW", "TEST_WORKFLOW2"]"#)
            .write(toFile: toml, atomically: true, encoding: .utf8)
        run.router.signal(SIGHUP)
        #expect(await waitUntil(timeout: .seconds(30)) { (try? run.partners.referralIds(at: "la-front-door")) == [id] })
        #expect(await waitUntil { (try? await run.mesh.inbox(Self.routerMailbox).isEmpty) == true })
        #expect(try run.query("SELECT outcome, referral IS NOT NULL, acknowledged_at IS NOT NULL FROM mesh_message") == [["referral", "1", "1"]])
        #expect(run.router.log.contains("code=mesh_reconfigured"))
        #expect(await run.router.stop() == 0)
    }

    @Test func aCrashBetweenCommitAndAcknowledgementGivesOneReferralAndOneRecordedDuplicate() async throws {
        var run = try await Self.start(prefix: "mesh-crash", environment: ["REFERRAL_ROUTER_TEST_CRASH_BEFORE_MESH_ACK": "1"])
        defer { run.close() }
        let id = UUID().uuidString.lowercased()
        let messageID = try await run.mesh.send(from: Self.partner, to: Self.routerMailbox, workflowID: "TEST_WORKFLOW",
                                          body: try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id))
        let status = await run.router.waitForExit(timeout: .seconds(30))
        #expect(status == SIGKILL, "the test hook killed the router after the commit")
        #expect(try await run.mesh.inbox(Self.routerMailbox) == [messageID], "not acknowledged before the crash")

        run.router = try await run.sandbox.startRouter(logName: "router-2.log")
        #expect(await waitUntil(timeout: .seconds(30)) { (try? await run.mesh.inbox(Self.routerMailbox).isEmpty) == true }, "inbox empty")
        #expect(await waitUntil(timeout: .seconds(30)) { (try? run.partners.referralIds(at: "la-front-door", status: 202).contains(id)) == true })
        #expect(try run.query("SELECT COUNT(*) FROM referral") == [["1"]], "one referral")
        #expect(try run.query("SELECT source_name FROM duplicate") == [[messageID]], "one recorded duplicate")
        #expect(Set(try run.partners["la-front-door"].received().compactMap { $0.header("Idempotency-Key") }).count == 1)
        #expect(run.router.log.contains("event=duplicate"))
        #expect(await run.router.stop() == 0)
    }

    @Test func aNonDeliveryReportMarksTheDeliveryFailedAndAnUnmatchedReportIsRecorded() async throws {
        let sandbox = try RouterSandbox(prefix: "mesh-ndr")
        defer { sandbox.remove() }
        let mesh = try await MESHSandbox.start(pki: sandbox.pki, directory: sandbox.root)
        defer { mesh.stop() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        // Health is reached over MESH from X26ABC1, and X26ABC1 is also drained, where MESH puts reports.
        let secrets = try mesh.writeSecrets(into: sandbox.root)
        try MESHDestinationTests.configure(sandbox, mesh: mesh, partners: partners,
                                           extra: mesh.agencyTOML(id: Self.agency, mailbox: Self.partner, secrets: secrets, receiptWorkflow: nil))
        let router = try await sandbox.startRouter()

        let id = UUID().uuidString.lowercased()
        try dropFile(try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json", referralId: id), named: "r.json",
                     into: sandbox.inbound("riverside-medical"))
        #expect(await waitUntil(timeout: .seconds(30)) { (try? await mesh.inbox("X26ABC2").count) == 1 })
        let sent = try #require(try await mesh.inbox("X26ABC2").first)
        let localID = try await mesh.message(sent, in: "X26ABC2").headers["mex-localid"]
        let database = sandbox.stateDirectory + "/router.sqlite"
        #expect(await waitUntil { (try? MESHSandbox.query(database: database, "SELECT state FROM delivery WHERE destination = 'health-safeguarding'")) == [["delivered"]] })

        // MESH tells the sender the recipient never collected it.
        let report = try await mesh.nonDeliveryReport(to: Self.partner, linkedMessageID: sent, localID: localID, workflowID: "TEST_WORKFLOW")
        let unmatched = try await mesh.nonDeliveryReport(to: Self.partner, linkedMessageID: "NOT-OURS-" + UUID().uuidString.uppercased(),
                                                   localID: nil, workflowID: "TEST_WORKFLOW")
        #expect(await waitUntil(timeout: .seconds(30)) {
            (try? MESHSandbox.query(database: database, "SELECT state, last_error LIKE '%non-delivery%status 14%' FROM delivery WHERE destination = 'health-safeguarding'")) == [["dead", "1"]]
        })
        #expect(await waitUntil { (try? await mesh.inbox(Self.partner).isEmpty) == true }, "both reports acknowledged")
        #expect(try MESHSandbox.query(database: database, "SELECT message_id, report_match, status_code FROM mesh_message ORDER BY report_match")
                == [[report, "delivery-failed", "14"], [unmatched, "unmatched", "14"]])
        #expect(router.log.contains("code=mesh_non_delivery"), "an alert")
        #expect(router.log.contains("A MESH report matches nothing the router sent"))
        #expect(await waitUntil {
            let destinations = readJSONObject(sandbox.receipts("riverside-medical") + "/\(id).json")?["destinations"] as? [[String: Any]]
            return destinations?.first { $0["destination"] as? String == "health-safeguarding" }?["status"] as? String == "failed"
        }, "the referrer's receipt shows the failure")
        #expect(await router.stop() == 0)
    }
}

/// Reports for a MESH destination whose sending mailbox no agency drains.
@Suite(.serialized, .enabled("needs python3 with mesh-sandbox and mesh-client (scripts/test installs them)") { await MESHSandbox.unavailableReason == nil })
struct MESHDestinationReportTests {
    @Test func aDestinationsOwnMailboxIsPolledForReportsOnly() async throws {
        let sandbox = try RouterSandbox(prefix: "mesh-reports")
        defer { sandbox.remove() }
        let mesh = try await MESHSandbox.start(pki: sandbox.pki, directory: sandbox.root)
        defer { mesh.stop() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        try MESHDestinationTests.configure(sandbox, mesh: mesh, partners: partners)
        var router = try await sandbox.startRouter()
        #expect(await waitUntil { router.log.contains("MESH mailbox poller started for reports only.") })

        let id = UUID().uuidString.lowercased()
        try dropFile(try RouterSandbox.example("valid/immediate-unexplained-injury-gp-known.json", referralId: id), named: "r.json",
                     into: sandbox.inbound("riverside-medical"))
        #expect(await waitUntil(timeout: .seconds(30)) { (try? await mesh.inbox("X26ABC2").count) == 1 })
        let sent = try #require(try await mesh.inbox("X26ABC2").first)
        let database = sandbox.stateDirectory + "/router.sqlite"
        #expect(await waitUntil { (try? MESHSandbox.query(database: database, "SELECT state FROM delivery WHERE destination = 'health-safeguarding'")) == [["delivered"]] })
        #expect(await router.stop() == 0)

        // While the router is down: MESH's non-delivery report, and a message that is not the router's.
        let report = try await mesh.nonDeliveryReport(to: "X26ABC1", linkedMessageID: sent, localID: nil, workflowID: "TEST_WORKFLOW")
        let other = try await mesh.send(from: "X26ABC2", to: "X26ABC1", workflowID: "TEST_WORKFLOW_ACK", body: Array("{}".utf8))
        router = try await sandbox.startRouter(logName: "router-2.log")   // a poller polls at once when it starts
        #expect(await waitUntil(timeout: .seconds(30)) {
            (try? MESHSandbox.query(database: database, "SELECT state FROM delivery WHERE destination = 'health-safeguarding'")) == [["dead"]]
        })
        #expect(await waitUntil { (try? await mesh.inbox("X26ABC1")) == [other] }, "the report acknowledged, the other message left alone")
        #expect(try MESHSandbox.query(database: database, "SELECT message_id, agency, report_match FROM mesh_message")
                == [[report, "health-safeguarding", "delivery-failed"]])
        #expect(router.log.contains("code=mesh_non_delivery"))
        #expect(await router.stop() == 0)
    }
}

/// A mailbox that fails or hangs holds up nothing else. Needs no mesh-sandbox: the broken MESH
/// servers are test partners scripted to answer 500 or to hang.
@Suite(.serialized)
struct MESHMailboxIsolationTests {
    @Test func aMailboxThatAnswers500OrHangsDoesNotSlowFolderIntake() async throws {
        let sandbox = try RouterSandbox(prefix: "mesh-isolation")
        defer { sandbox.remove() }
        let partners = try await Partners.start(sandbox)
        defer { partners.stop() }
        var broken: [TestPartner] = []
        for (name, script) in [("mesh-500", #"{"*": [{"status": 500}]}"#), ("mesh-hang", #"{"*": [{"action": "hang", "seconds": 120}]}"#)] {
            let directory = sandbox.root + "/" + name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            broken.append(try await TestPartner.start(pki: sandbox.pki, directory: directory, script: script, name: name))
        }
        defer { broken.forEach { $0.stop() } }
        try Data("password\n".utf8).write(to: URL(fileURLWithPath: sandbox.root + "/password"))
        try Data("key\n".utf8).write(to: URL(fileURLWithPath: sandbox.root + "/key"))
        var extra = ""
        for (index, server) in broken.enumerated() {
            extra += """

                [[agency]]
                id = "mesh-agency-\(index)"

                [agency.mesh]
                url = "\(server.url(path: "/"))"
                mailbox = "X26ABC\(index + 1)"
                password = "\(sandbox.root)/password"
                shared_key = "\(sandbox.root)/key"
                accepted_workflow_ids = ["TEST_WORKFLOW"]
                receipts = "folder"
                poll_interval_seconds = 1
                allow_frequent_polling = true
                ca_file = "\(sandbox.pki.caCertificate)"

                """
        }
        try sandbox.writeShippedDestinations(urls: partners.urls, extra: extra)
        let router = try await sandbox.startRouter()
        #expect(await waitUntil(timeout: .seconds(20)) { broken.allSatisfy { (try? $0.received().isEmpty) == false } }, "both mailboxes are being polled")

        let ids = (0..<10).map { _ in UUID().uuidString.lowercased() }
        let dropped = ContinuousClock.now
        for (index, id) in ids.enumerated() {
            try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "r\(index).json",
                         into: sandbox.inbound("health-visiting"))
        }
        #expect(await waitUntil(timeout: .seconds(20)) { Set((try? partners.referralIds(at: "la-front-door")) ?? []) == Set(ids) })
        let took = ContinuousClock.now - dropped
        #expect(took < .seconds(10), "folder intake and delivery took \(took) with one mailbox failing and one hanging")
        #expect(router.log.contains("The MESH mailbox cannot be polled") && router.log.contains("code=http_500"))
        #expect(router.log.components(separatedBy: "The MESH mailbox cannot be polled").count == 2, "a failing mailbox is reported once, not every poll")
        #expect(await router.stop() == 0)
    }
}
