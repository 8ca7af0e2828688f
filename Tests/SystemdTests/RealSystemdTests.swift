import Foundation
import Testing
import TestSupport
@testable import ReferralRouter

/// The shipped unit under systemd 252 itself, as PID 1 of a private PID+mount namespace (see
/// scripts/systemd-test/systemd-namespace): readiness, a referral from a real agency account to
/// HTTPS partners and into the journal, the folders' permissions between agencies, reload, the
/// watchdog, a clean stop, and no personal data in the journal. Root only.
@Suite(.enabled(if: SystemdNamespace.unavailableReason == nil, Comment(rawValue: SystemdNamespace.unavailableReason ?? "")))
struct RealSystemdTests {
    static let unit = "referral-router.service"
    static let spool = "/var/spool/referral-router"
    /// (agency, example) pairs dropped by the agencies' own accounts.
    static let drops = [("oakfield-primary", "valid/typical-school-neglect.json"),
                        ("riverside-medical", "valid/immediate-unexplained-injury-gp-known.json")]

    @Test(.timeLimit(.minutes(5)))
    func theShippedUnitRunsTheDaemonUnderARealSystemd() async throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "systemd-partners")
        defer { TestPaths.removeDirectory(work) }
        try FileManager.default.createDirectory(atPath: work + "/pki", withIntermediateDirectories: true)
        let pki = try TestPKI.make(in: work + "/pki")
        var partners: [String: TestPartner] = [:]
        defer { partners.values.forEach { $0.stop() } }
        for destination in ["la-front-door", "police-ppu", "health-safeguarding", "school-dsl", "early-help-hub"] {
            let directory = work + "/" + destination
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            partners[destination] = try await TestPartner.start(pki: pki, directory: directory, name: destination)
        }
        let tree = try ServiceTree.make(urls: partners.mapValues { $0.url(path: "/referrals") }, caCertificate: pki.caCertificate)
        defer { tree.remove() }
        try await tree.compileCatalog()

        let systemd = try await SystemdNamespace.boot(root: tree.root, target: ServiceTree.target)
        do {
            try await exercise(systemd, partners: partners)
        } catch {
            await systemd.shutDown()
            throw error
        }
        await systemd.shutDown()
        #expect(!systemd.isRunning, "the namespace's PID 1 is gone")
    }

    private func exercise(_ systemd: SystemdNamespace, partners: [String: TestPartner]) async throws {
        // 1. Started and READY=1: Type=notify is "active" only after it.
        let started = try await systemd.waitForUnit(Self.unit, properties: ["ActiveState", "SubState", "MainPID"]) {
            $0["ActiveState"] == "active" || $0["ActiveState"] == "failed"
        }
        let unitLog = try await systemd.run(["journalctl", "--no-pager", "-u", Self.unit])
        try #require(started["ActiveState"] == "active", "the unit did not become active: \(started)\n\(unitLog.output.suffix(6000))")
        let firstPID = try #require(started["MainPID"].flatMap { Int32($0) })
        let pid1Log: () async throws -> String = { try await systemd.run(["journalctl", "--no-pager", "-o", "cat", "_PID=1"]).output }
        #expect(try await pid1Log().contains("referral-router.service: Got notification message from PID \(firstPID) (READY=1"))

        // Its sandbox holds: no capabilities, no new privileges, a seccomp filter, W^X memory.
        let status = try await systemd.run(["cat", "/proc/\(firstPID)/status"]).output
        #expect(status.contains("NoNewPrivs:\t1"))
        #expect(status.contains("Seccomp:\t2"))
        #expect(status.contains("CapEff:\t0000000000000000"))
        #expect(try await systemd.property("MemoryDenyWriteExecute", of: Self.unit) == "yes")

        // 2. Each agency's own account drops a referral; both reach their partners and the journal.
        var referralIds: [String] = []
        for (agency, example) in Self.drops {
            let bytes = try RouterSandbox.example(example)
            let account = try #require(ServiceTree.accounts[agency])
            let drop = try await asAccount(systemd, account, [
                "sh", "-c", "umask 027 && cat > \"$1/.$2.tmp\" && mv \"$1/.$2.tmp\" \"$1/$2\"", "sh",
                Self.spool + "/inbound/" + agency, "referral.json",
            ], input: bytes)
            #expect(drop.succeeded, "\(drop)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            referralIds.append(try #require(object["referralId"] as? String))
        }
        let (schoolReferral, gpReferral) = (referralIds[0], referralIds[1])
        for (destination, id) in [("la-front-door", schoolReferral), ("school-dsl", schoolReferral), ("la-front-door", gpReferral),
                                  ("police-ppu", gpReferral), ("health-safeguarding", gpReferral)] {
            let partner = try #require(partners[destination])
            let arrived = await waitUntil(timeout: .seconds(30)) {
                (try? partner.received().contains { String(decoding: $0.body, as: UTF8.self).contains(id) }) == true
            }
            #expect(arrived, "\(id) did not reach \(destination)")
        }
        for id in referralIds {
            let entries = try await journalEntries(systemd, ["-u", Self.unit, "REFERRAL_ID=" + id])
            #expect(entries.contains { $0["MESSAGE_ID"] == MessageID.received.id && $0["PRIORITY"] == "6" && $0["SYSLOG_IDENTIFIER"] == "referral-router" },
                    "no received entry for \(id)")
            let delivered = entries.filter { $0["MESSAGE_ID"] == MessageID.delivered.id }
            #expect(!delivered.isEmpty && delivered.allSatisfy { $0["DESTINATION"] != nil && $0["HTTP_STATUS"] == "202" && $0["ATTEMPT"] != nil },
                    "delivered entries for \(id): \(delivered)")
        }
        #expect(try await journalEntries(systemd, ["-u", Self.unit, "AGENCY=oakfield-primary"]).contains { $0["REFERRAL_ID"] == schoolReferral })
        #expect(try await journalEntries(systemd, ["-u", Self.unit, "DESTINATION=police-ppu"]).contains { $0["REFERRAL_ID"] == gpReferral })
        // journalctl -x explains an entry from the installed catalog.
        let explained = try await systemd.run(["journalctl", "--no-pager", "-x", "-u", Self.unit,
                                               "MESSAGE_ID=" + MessageID.delivered.id, "REFERRAL_ID=" + schoolReferral])
        #expect(explained.output.contains("Subject: Referral \(schoolReferral) delivered to"), "\(explained)")

        // The receipts and folders, as the agencies' accounts see them.
        try await checkAgencyIsolation(systemd, schoolReferral: schoolReferral, gpReferral: gpReferral)

        // 3. Reload: RELOADING=1 with MONOTONIC_USEC=, then READY=1, the same process still active.
        let reload = try await systemd.run(["systemctl", "reload", Self.unit])
        #expect(reload.succeeded, "\(reload)")
        let reloaded = try await systemd.waitForJournal(["-u", Self.unit, "MESSAGE_ID=" + MessageID.reloaded.id, "GENERATION=2"])
        #expect(!reloaded.isEmpty, "no reloaded entry")
        let afterReload = try await systemd.waitForUnit(Self.unit, properties: ["ActiveState", "MainPID", "NRestarts"]) {
            $0["ActiveState"] == "active"
        }
        #expect(afterReload["ActiveState"] == "active" && afterReload["MainPID"] == String(firstPID) && afterReload["NRestarts"] == "0")
        let notifications = try await pid1Log()
        let reloading = notifications.range(of: "Got notification message from PID \(firstPID) (RELOADING=1, MONOTONIC_USEC=")
        #expect(reloading != nil, "no RELOADING=1 with MONOTONIC_USEC")
        if let reloading {
            #expect(notifications[reloading.upperBound...].contains("Got notification message from PID \(firstPID) (READY=1"),
                    "no READY=1 after RELOADING=1")
        }

        // 4. A stopped daemon sends no WATCHDOG=1: systemd kills it and starts a new one.
        #expect(try await systemd.run(["kill", "-STOP", String(firstPID)]).succeeded)
        let restarted = try await systemd.waitForUnit(Self.unit, properties: ["ActiveState", "MainPID", "NRestarts"], timeout: .seconds(60)) {
            $0["ActiveState"] == "active" && $0["NRestarts"] == "1" && $0["MainPID"] != String(firstPID) && $0["MainPID"] != "0"
        }
        #expect(restarted["ActiveState"] == "active" && restarted["NRestarts"] == "1" && restarted["MainPID"] != String(firstPID),
                "not restarted by the watchdog: \(restarted)")
        #expect(try await pid1Log().contains("referral-router.service: Watchdog timeout (limit \(ServiceTree.watchdogSeconds)s)!"))
        let secondPID = restarted["MainPID"] ?? ""
        #expect(try await pid1Log().contains("Got notification message from PID \(secondPID) (READY=1"))

        // 5. Stop: STOPPING=1, a clean exit 0, the stopped entry.
        let stop = try await systemd.run(["systemctl", "stop", Self.unit], timeout: .seconds(60))
        #expect(stop.succeeded, "\(stop)")
        let stopped = try await systemd.waitForUnit(Self.unit, properties: ["ActiveState", "Result", "ExecMainStatus", "ExecMainCode"]) {
            $0["ActiveState"] == "inactive"
        }
        #expect(stopped["ActiveState"] == "inactive" && stopped["Result"] == "success" && stopped["ExecMainStatus"] == "0", "\(stopped)")
        #expect(try await pid1Log().contains("Got notification message from PID \(secondPID) (STOPPING=1)"))
        #expect(!(try await systemd.waitForJournal(["-u", Self.unit, "MESSAGE_ID=" + MessageID.stopped.id])).isEmpty)

        // 6. Not one piece of either referral's personal data anywhere in the journal.
        let everything = try await systemd.run(["journalctl", "--no-pager", "-o", "export"], timeout: .seconds(60))
        #expect(everything.succeeded && everything.output.contains(schoolReferral))
        for (_, example) in Self.drops {
            let personal = try Self.personalData(in: RouterSandbox.example(example))
            #expect(personal.count > 10, "the personal data of \(example) was found to look for")
            for value in personal {
                #expect(!Self.containsWord(everything.output, value), "personal data in the journal: \(value.prefix(3))…")
            }
        }
    }

    /// Runs `arguments` inside the namespace as `account` with its own groups (from the namespace's /etc/group).
    private func asAccount(_ systemd: SystemdNamespace, _ account: String, _ arguments: [String], input: [UInt8] = []) async throws -> ExternalCommand.Result {
        try await systemd.run(["setpriv", "--reuid=" + account, "--regid=" + account, "--init-groups", "--"] + arguments, input: input)
    }

    /// Each agency's account reaches its own folders and nothing of another agency's, the state or rejected/.
    private func checkAgencyIsolation(_ systemd: SystemdNamespace, schoolReferral: String, gpReferral: String) async throws {
        let oakfieldReceipt = Self.spool + "/receipts/oakfield-primary/\(schoolReferral).json"
        let riversideReceipt = Self.spool + "/receipts/riverside-medical/\(gpReferral).json"
        let receiptWritten = await waitUntil(timeout: .seconds(30)) {
            FileManager.default.fileExists(atPath: "/proc/\(systemd.pid1)/root" + oakfieldReceipt)
                && FileManager.default.fileExists(atPath: "/proc/\(systemd.pid1)/root" + riversideReceipt)
        }
        try #require(receiptWritten, "receipts were not written")
        let receiptMode = try await systemd.run(["stat", "-c", "%a %U %G", oakfieldReceipt]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(receiptMode == "640 referral-router rr-oakfield-primary")

        // (account, what, command, allowed)
        let probes: [(String, String, [String], Bool)] = [
            ("oakfield-clerk", "list its inbound folder", ["ls", Self.spool + "/inbound/oakfield-primary"], true),
            ("oakfield-clerk", "read its receipt", ["cat", oakfieldReceipt], true),
            ("oakfield-clerk", "write its receipts folder", ["touch", Self.spool + "/receipts/oakfield-primary/forged.json"], false),
            ("oakfield-clerk", "list another agency's inbound folder", ["ls", Self.spool + "/inbound/riverside-medical"], false),
            ("oakfield-clerk", "drop into another agency's inbound folder", ["touch", Self.spool + "/inbound/riverside-medical/x.json"], false),
            ("oakfield-clerk", "list another agency's receipts", ["ls", Self.spool + "/receipts/riverside-medical"], false),
            ("oakfield-clerk", "read another agency's receipt", ["cat", riversideReceipt], false),
            ("oakfield-clerk", "list the agencies' inbound folders", ["ls", Self.spool + "/inbound"], false),
            ("oakfield-clerk", "list rejected/", ["ls", Self.spool + "/rejected"], false),
            ("oakfield-clerk", "list its own rejected folder", ["ls", Self.spool + "/rejected/oakfield-primary"], false),
            ("oakfield-clerk", "list the state directory", ["ls", "/var/lib/referral-router"], false),
            ("oakfield-clerk", "read the database", ["cat", "/var/lib/referral-router/router.sqlite"], false),
            ("riverside-clerk", "read its receipt", ["cat", riversideReceipt], true),
            ("riverside-clerk", "read another agency's receipt", ["cat", oakfieldReceipt], false),
            ("riverside-clerk", "list another agency's inbound folder", ["ls", Self.spool + "/inbound/oakfield-primary"], false),
        ]
        for (account, what, command, allowed) in probes {
            let result = try await asAccount(systemd, account, command)
            #expect(result.succeeded == allowed, "\(account) \(allowed ? "cannot" : "can") \(what): \(result)")
        }
    }

    /// `journalctl -o json` entries (one object per line) as name → text, binary fields left out.
    private func journalEntries(_ systemd: SystemdNamespace, _ arguments: [String]) async throws -> [[String: String]] {
        let result = try await systemd.run(["journalctl", "--no-pager", "-o", "json"] + arguments)
        return result.output.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?.compactMapValues { $0 as? String }
        }
    }

    /// The names, dates of birth, NHS numbers and UPNs, addresses, postcodes, contact details and
    /// free text in a referral (NHS numbers also without their spaces; long text by its start).
    static func personalData(in bytes: [UInt8]) throws -> [String] {
        let personalKeys: Set<String> = ["givenName", "familyName", "name", "dateOfBirth", "nhsNumber", "upn", "postcode", "lines",
                                         "email", "phone", "description", "details", "currentLocation", "immediateActionTaken"]
        var found: [String] = []
        func walk(_ value: Any, key: String?) {
            switch value {
            case let object as [String: Any]:
                for (name, member) in object { walk(member, key: name) }
            case let array as [Any]:
                for element in array { walk(element, key: key) }
            case let text as String where key.map(personalKeys.contains) == true && text.count >= 3:
                found.append(text.count > 40 ? String(text.prefix(40)) : text)
                if key == "nhsNumber" { found.append(text.filter(\.isNumber)) }
            default:
                break
            }
        }
        walk(try JSONSerialization.jsonObject(with: Data(bytes)), key: nil)
        return found
    }

    /// Whether `text` holds `word` with no letter or digit joined on either side.
    static func containsWord(_ text: String, _ word: String) -> Bool {
        var searchRange = text.startIndex..<text.endIndex
        while let match = text.range(of: word, range: searchRange) {
            let before = match.lowerBound > text.startIndex ? text[text.index(before: match.lowerBound)] : " "
            let after = match.upperBound < text.endIndex ? text[match.upperBound] : " "
            if !(before.isLetter || before.isNumber) && !(after.isLetter || after.isNumber) { return true }
            searchRange = match.upperBound..<text.endIndex
        }
        return false
    }
}
