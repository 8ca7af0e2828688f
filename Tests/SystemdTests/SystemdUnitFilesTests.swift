import Foundation
import Testing
import TestSupport
@testable import ReferralRouter

/// The files in systemd/ as systemd's own tools read them: the unit, its sandbox's exposure, the
/// sysusers.d and tmpfiles.d snippets applied to an empty root, and the journal catalog.
struct SystemdUnitFilesTests {
    static let directory = TestPaths.packageRoot + "/systemd"
    static let unit = directory + "/referral-router.service"
    static let sysusers = directory + "/referral-router.sysusers.conf"
    static let tmpfiles = directory + "/referral-router.tmpfiles.conf"
    static let catalog = directory + "/referral-router.catalog"
    static let isRoot = geteuid() == 0

    /// The [Service] settings in order (a key may repeat).
    static func serviceSettings() throws -> [(key: String, value: String)] {
        var section = ""
        var settings: [(key: String, value: String)] = []
        for line in try String(contentsOfFile: unit, encoding: .utf8).split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            if text.hasPrefix("[") { section = text; continue }
            guard section == "[Service]", let equals = text.firstIndex(of: "=") else { continue }
            settings.append((String(text[..<equals]), String(text[text.index(after: equals)...])))
        }
        return settings
    }

    /// The agency ids of the shipped routes/router.toml.
    static func shippedAgencies() throws -> [String] {
        let text = try String(contentsOfFile: TestPaths.packageRoot + "/routes/router.toml", encoding: .utf8)
        var agencies: [String] = []
        var inAgency = false
        for line in text.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if line.hasPrefix("[") { inAgency = line == "[[agency]]"; continue }
            if inAgency, line.hasPrefix("id"), let first = line.firstIndex(of: "\""), let last = line.lastIndex(of: "\""), first < last {
                agencies.append(String(line[line.index(after: first)..<last]))
            }
        }
        return agencies
    }

    @Test func theServiceIsANotifyUnitThatReloadsStopsAndRestartsAsTheDaemonExpects() throws {
        let settings = try Self.serviceSettings()
        func values(_ key: String) -> [String] { settings.filter { $0.key == key }.map(\.value) }
        func value(_ key: String) -> String? { values(key).last }

        #expect(value("Type") == "notify")
        #expect(value("NotifyAccess") == "main")
        #expect(value("ExecStart") == "/usr/local/bin/referral-router run --config /etc/referral-router")
        #expect(value("ExecReload") == "/bin/kill -HUP $MAINPID")
        #expect(value("Restart") == "on-failure")
        #expect(value("RestartPreventExitStatus") == "78")
        #expect(value("User") == "referral-router")
        #expect(value("StateDirectory") == "referral-router")
        #expect(value("StateDirectoryMode") == "0700")
        #expect(value("ConfigurationDirectory") == "referral-router")
        #expect(value("ConfigurationDirectoryMode") == "0750")
        #expect(value("UMask") == "0077")
        #expect(value("LimitCORE") == "0")
        #expect(values("LoadCredential").contains("audit-hmac-key:referral-router.audit-hmac-key"))
        // Writable: the spool by ReadWritePaths=, the state by StateDirectory=; nothing else.
        #expect(values("ReadWritePaths") == ["/var/spool/referral-router"])
        #expect(value("ProtectSystem") == "strict")
        #expect(value("MemoryDenyWriteExecute") == "yes")
        #expect(value("CapabilityBoundingSet") == "")
        #expect(value("RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6")
        #expect(values("SystemCallFilter").first == "@system-service")

        // The daemon pings every min(WatchdogSec/2, 2 s): leave room for two missed pings.
        let watchdog = try #require(value("WatchdogSec").flatMap { Int($0.replacingOccurrences(of: "s", with: "")) })
        #expect(watchdog >= 6)
        // Drain, then 5 s graceful and 5 s cancellation (Daemon.run): the stop timeout covers them all.
        let router = try String(contentsOfFile: TestPaths.packageRoot + "/routes/router.toml", encoding: .utf8)
        let drain = router.split(separator: "\n").first { $0.hasPrefix("shutdown_drain_seconds") }
            .flatMap { $0.split(separator: "=").last }.flatMap { Int($0.split(separator: "#").first?.trimmingCharacters(in: .whitespaces) ?? "") } ?? 20
        let stop = try #require(value("TimeoutStopSec").flatMap { Int($0.replacingOccurrences(of: "s", with: "")) })
        #expect(stop >= drain + 20, "with margin over drain + 5 s + 5 s")
    }

    @Test func theSandboxExposureIsAtMostOnePointFive() async throws {
        // systemd-analyze scores 0-10 and takes the threshold in tenths: 15 is an exposure of 1.5.
        let result = try await ExternalCommand.run(["systemd-analyze", "security", "--offline=yes", "--threshold=15", "--no-pager", Self.unit])
        #expect(result.succeeded, "\(result)")
        let line = try #require(result.output.split(separator: "\n").first { $0.contains("Overall exposure level for referral-router.service") })
        let figure = try #require(line.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) })
        #expect(figure <= 1.5, "exposure \(figure)")
    }

    /// verify needs the ExecStart= binary in place, so it runs in a private mount namespace where
    /// /usr/local/bin holds the one just built.
    @Test(.enabled(if: isRoot, "needs root for a private mount namespace with the binary in /usr/local/bin"))
    func systemdAnalyzeVerifyPassesOnTheUnit() async throws {
        let bin = try TestPaths.makeTemporaryDirectory(prefix: "verify-bin")
        defer { TestPaths.removeDirectory(bin) }
        try FileManager.default.createSymbolicLink(atPath: bin + "/referral-router", withDestinationPath: RouterProcess.binary)
        let result = try await ExternalCommand.run([
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            "mount --bind \"$1\" /usr/local/bin && exec systemd-analyze verify --man=no \"$2\"", "sh", bin, Self.unit,
        ])
        #expect(result.succeeded, "\(result)")
        #expect(result.output.isEmpty && result.errors.isEmpty, "\(result)")
    }

    @Test func everyShippedAgencyHasAGroupAndItsFolders() throws {
        let agencies = try Self.shippedAgencies()
        #expect(agencies.count == 5)
        let sysusers = try String(contentsOfFile: Self.sysusers, encoding: .utf8)
        let tmpfiles = try String(contentsOfFile: Self.tmpfiles, encoding: .utf8)
        func lines(_ text: String) -> [[String]] {
            text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { $0.split(separator: " ").map(String.init) }.filter { !$0.isEmpty }
        }
        for agency in agencies {
            #expect(lines(sysusers).contains(["g", "rr-" + agency, "-"]), "group for \(agency)")
            #expect(lines(sysusers).contains(["m", "referral-router", "rr-" + agency]), "daemon in \(agency)'s group")
            #expect(lines(tmpfiles).contains(["d", "/var/spool/referral-router/inbound/" + agency, "2770", "referral-router", "rr-" + agency, "-"]))
            #expect(lines(tmpfiles).contains(["d", "/var/spool/referral-router/receipts/" + agency, "2750", "referral-router", "rr-" + agency, "-"]))
            #expect(lines(tmpfiles).contains(["d", "/var/spool/referral-router/rejected/" + agency, "0700", "referral-router", "referral-router", "-"]))
        }
        // Nothing in the spool is ever aged out.
        #expect(lines(tmpfiles).allSatisfy { $0.count == 6 && $0.last == "-" })
    }

    /// systemd-sysusers and systemd-tmpfiles apply the snippets to an empty root: the owners,
    /// groups and modes the spool really gets.
    @Test(.enabled(if: isRoot, "needs root to create files owned by other users"))
    func sysusersAndTmpfilesMakeTheSpoolAsDocumented() async throws {
        let root = try TestPaths.makeTemporaryDirectory(prefix: "sysroot")
        defer { TestPaths.removeDirectory(root) }
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        let users = try await ExternalCommand.run(["systemd-sysusers", "--root=" + root, Self.sysusers])
        try #require(users.succeeded, "\(users)")
        let files = try await ExternalCommand.run(["systemd-tmpfiles", "--root=" + root, "--create", Self.tmpfiles])
        try #require(files.succeeded, "\(files)")

        func ids(_ file: String) throws -> [String: (id: UInt32, members: [String])] {
            var table: [String: (id: UInt32, members: [String])] = [:]
            for line in try String(contentsOfFile: root + "/etc/" + file, encoding: .utf8).split(separator: "\n") {
                let parts = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 4, let id = UInt32(parts[2]) else { continue }
                table[parts[0]] = (id, file == "group" ? parts[3].split(separator: ",").map(String.init) : [])
            }
            return table
        }
        let passwd = try ids("passwd"), group = try ids("group")
        let daemon = try #require(passwd["referral-router"]?.id)
        let daemonGroup = try #require(group["referral-router"]?.id)

        func check(_ path: String, mode: mode_t, group expected: UInt32, sourceLocation: SourceLocation = #_sourceLocation) {
            var status = stat()
            guard lstat(root + path, &status) == 0 else {
                Issue.record("\(path) is missing", sourceLocation: sourceLocation)
                return
            }
            #expect(status.st_mode & S_IFMT == S_IFDIR, "\(path) is a directory", sourceLocation: sourceLocation)
            #expect(status.st_mode & 0o7777 == mode, "\(path) mode \(String(status.st_mode & 0o7777, radix: 8))", sourceLocation: sourceLocation)
            #expect(status.st_uid == daemon, "\(path) owner", sourceLocation: sourceLocation)
            #expect(status.st_gid == expected, "\(path) group", sourceLocation: sourceLocation)
        }
        var configuration = stat()
        #expect(lstat(root + "/etc/referral-router", &configuration) == 0)
        #expect(configuration.st_mode & 0o7777 == 0o750 && configuration.st_uid == 0 && configuration.st_gid == daemonGroup,
                "/etc/referral-router is 0750 root:referral-router")
        check("/var/spool/referral-router", mode: 0o711, group: daemonGroup)
        check("/var/spool/referral-router/inbound", mode: 0o711, group: daemonGroup)
        check("/var/spool/referral-router/receipts", mode: 0o711, group: daemonGroup)
        check("/var/spool/referral-router/rejected", mode: 0o700, group: daemonGroup)
        for agency in try Self.shippedAgencies() {
            let agencyGroup = try #require(group["rr-" + agency], "group rr-\(agency)")
            #expect(agencyGroup.members.contains("referral-router"))
            check("/var/spool/referral-router/inbound/" + agency, mode: 0o2770, group: agencyGroup.id)
            check("/var/spool/referral-router/receipts/" + agency, mode: 0o2750, group: agencyGroup.id)
            check("/var/spool/referral-router/rejected/" + agency, mode: 0o700, group: daemonGroup)
        }
    }

    @Test func theCatalogExplainsEveryMessageID() async throws {
        let root = try TestPaths.makeTemporaryDirectory(prefix: "catalog")
        defer { TestPaths.removeDirectory(root) }
        try FileManager.default.createDirectory(atPath: root + "/usr/lib/systemd/catalog", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.catalog, toPath: root + "/usr/lib/systemd/catalog/referral-router.catalog")
        let update = try await ExternalCommand.run(["journalctl", "--root=" + root, "--update-catalog"])
        try #require(update.succeeded, "\(update)")
        let listing = try await ExternalCommand.run(["journalctl", "--root=" + root, "--list-catalog", "--no-pager"])
        try #require(listing.succeeded, "\(listing)")
        let listed = Set(listing.output.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        let ids = MessageID.allCases.map(\.id)
        #expect(Set(ids).count == ids.count, "ids are distinct")
        #expect(ids.allSatisfy { $0.count == 32 && $0.allSatisfy { "0123456789abcdef".contains($0) } })
        #expect(listed == Set(ids))
        for line in listing.output.split(separator: "\n") {
            #expect(line.contains(" referral-router: "), "every entry has a subject: \(line)")
        }
    }
}
