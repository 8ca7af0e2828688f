import Foundation
import TestSupport

/// The tree scripts/systemd-test/systemd-namespace boots on, laid out for the shipped unit: the
/// files from systemd/ unchanged, a test drop-in with short timings, a configuration pointing at
/// test partners, two agency accounts, the audit key as a credential, and the journal catalog.
struct ServiceTree {
    let root: String
    static let target = "referral-router-test.target"
    /// Agency accounts made in the namespace (sysusers), each in its agency's group only.
    static let accounts = ["oakfield-primary": "oakfield-clerk", "riverside-medical": "riverside-clerk"]
    /// In the test only: the daemon pings every 2 s; a stopped daemon is caught after 5 s, with
    /// room for a loaded machine to miss a ping without a restart.
    static let watchdogSeconds = 5

    /// Lays out the tree in a new temporary directory. `urls` maps destination ids to partner URLs.
    static func make(urls: [String: String], caCertificate: String) throws -> ServiceTree {
        let root = try TestPaths.makeTemporaryDirectory(prefix: "systemd-test")
        let tree = ServiceTree(root: root)
        let manager = FileManager.default
        let shipped = TestPaths.packageRoot + "/systemd/"
        for directory in ["units/referral-router.service.d", "sysusers.d", "tmpfiles.d", "bin", "var/lib/systemd/catalog",
                          "etc-overlay/referral-router/tls", "etc-overlay/credstore", "catalog-root/usr/lib/systemd/catalog"] {
            try manager.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o755])
        }

        // The unit, sysusers.d and tmpfiles.d snippets exactly as shipped.
        try manager.copyItem(atPath: shipped + "referral-router.service", toPath: root + "/units/referral-router.service")
        try manager.copyItem(atPath: shipped + "referral-router.sysusers.conf", toPath: root + "/sysusers.d/referral-router.conf")
        try manager.copyItem(atPath: shipped + "referral-router.tmpfiles.conf", toPath: root + "/tmpfiles.d/referral-router.conf")
        try write("""
            [Unit]
            Description=referral-router under a real systemd (test)
            DefaultDependencies=no
            Wants=systemd-journald.service referral-router.service

            """, to: root + "/units/" + target)
        // Test timings only; everything else is the shipped unit.
        try write("""
            [Unit]
            After=systemd-journald.socket systemd-journald.service

            [Service]
            WatchdogSec=\(watchdogSeconds)s
            RestartSec=1s

            """, to: root + "/units/referral-router.service.d/test.conf")
        var accounts = ""
        for (agency, account) in Self.accounts.sorted(by: { $0.key < $1.key }) {
            accounts += "u \(account) - \"\(agency) clerk (test)\" /\nm \(account) rr-\(agency)\n"
        }
        try write(accounts, to: root + "/sysusers.d/test-agency-accounts.conf")

        // The binary under test, where the unit runs it: a copy, not a link, because the namespace
        // replaces /tmp (where a clone, and so the build, may live).
        try manager.copyItem(atPath: RouterProcess.binary, toPath: root + "/bin/referral-router")

        // Configuration in /etc/referral-router; the audit key through LoadCredential=.
        let configuration = root + "/etc-overlay/referral-router"
        try manager.copyItem(atPath: TestPaths.packageRoot + "/routes/rules.toml", toPath: configuration + "/rules.toml")
        try manager.copyItem(atPath: TestPaths.packageRoot + "/routes/referral.schema.json", toPath: configuration + "/referral.schema.json")
        try manager.copyItem(atPath: caCertificate, toPath: configuration + "/tls/ca.pem")
        try write(routerConfiguration(urls: urls), to: configuration + "/router.toml")
        for file in ["rules.toml", "referral.schema.json", "tls/ca.pem", "router.toml"] {
            try manager.setAttributes([.posixPermissions: 0o644], ofItemAtPath: configuration + "/" + file)
        }
        try manager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root + "/etc-overlay/credstore")
        let key = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        try write(key + "\n", to: root + "/etc-overlay/credstore/referral-router.audit-hmac-key", mode: 0o600)

        // The catalog, compiled the way `journalctl --update-catalog` does on a real system.
        try manager.copyItem(atPath: shipped + "referral-router.catalog",
                             toPath: root + "/catalog-root/usr/lib/systemd/catalog/referral-router.catalog")
        return tree
    }

    /// The compiled catalog database, placed where journalctl in the namespace looks for it.
    func compileCatalog() async throws {
        let update = try await ExternalCommand.run(["journalctl", "--root=" + root + "/catalog-root", "--update-catalog"])
        guard update.succeeded else { throw TestSupportError("catalog: \(update)") }
        try FileManager.default.copyItem(atPath: root + "/catalog-root/var/lib/systemd/catalog/database",
                                         toPath: root + "/var/lib/systemd/catalog/database")
    }

    static func routerConfiguration(urls: [String: String]) -> String {
        var text = """
            [router]
            state_directory = "/var/lib/referral-router"
            spool_directory = "/var/spool/referral-router"
            schema = "referral.schema.json"
            route_files = ["rules.toml"]
            shutdown_drain_seconds = 20

            [intake]
            rescan_interval_seconds = 30

            [delivery]
            retry_base_seconds = 0.2
            retry_cap_seconds = 2
            breaker_failure_threshold = 1000

            [audit]
            hmac_key = "credential:audit-hmac-key"


            """
        for agency in RouterSandbox.agencies {
            text += "[[agency]]\nid = \"\(agency)\"\n\n"
        }
        let shipped = [("la-front-door", "local-authority", "json"), ("police-ppu", "police", "json"),
                       ("health-safeguarding", "health", "fhir"), ("school-dsl", "school", "json"), ("early-help-hub", "early-help", "json")]
        for (id, partnerType, format) in shipped {
            text += """
                [[destination]]
                id = "\(id)"
                partner_type = "\(partnerType)"
                format = "\(format)"
                url = "\(urls[id] ?? "https://127.0.0.1:9/unused")"
                ca_file = "tls/ca.pem"


                """
        }
        return text
    }

    private static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw TestSupportError("cannot write \(path)")
        }
    }

    func remove() { TestPaths.removeDirectory(root) }
}
