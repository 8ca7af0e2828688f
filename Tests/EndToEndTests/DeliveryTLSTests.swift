import Foundation
import Testing
import TestSupport

extension DeliveryEndToEndTests {
    /// TLS: a certificate from the wrong CA or a pin mismatch sends nothing, alerts and retries slowly;
    /// mutual TLS with a passphrase from $CREDENTIALS_DIRECTORY and a bearer token from a file; a
    /// certificate about to expire is reported in the log and by `status`.
    @Suite struct TLS {
        @Test func aCertificateFromAnotherCASendsNothingAlertsAndRetriesSlowly() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-wrong-ca", partners: [
                "la-front-door": .init(serverCertificate: .wrongCA, lines: ["tls_failure_retry_seconds = 2"]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                let window = ContinuousClock.now
                #expect(await waitUntil { !logLines(bench.router.log, with: "code=tls_verification", and: ["event=alert"]).isEmpty })
                try await Task.sleep(until: window + .seconds(7))
                let alerts = logLines(bench.router.log, with: "code=tls_verification", and: ["event=alert", "destination=la-front-door"])
                // One attempt, then one every 2-3 s (tls_failure_retry_seconds plus up to 1 s jitter): 3 or 4 in 7 s.
                #expect((2...5).contains(alerts.count), "slow retries, no hot loop: \(alerts.count) attempts in 7 s")
                #expect(try bench["la-front-door"].received().isEmpty, "nothing reached the partner")
                #expect(bench.receiptEntry(id)?["status"] as? String == "queued", "still queued, not dead-lettered")
                #expect(logLines(bench.router.log, with: "event=delivered").isEmpty)
            }
        }

        @Test func aPinMismatchSendsNothingUntilTheRightPinIsLoaded() async throws {
            var pins: (wrong: String, right: String) = ("", "")
            let bench = try await DeliveryBench.start(prefix: "dl-pin", partners: ["la-front-door": .init()], lines: { pki in
                pins = (pki.wrongCAServerPin, pki.serverPin)
                return ["la-front-door": ["pinned_public_keys = [\"\(pki.wrongCAServerPin)\"]", "tls_failure_retry_seconds = 600"]]
            })
            try await bench.run { bench in
                let id = try bench.drop()
                #expect(await waitUntil { !logLines(bench.router.log, with: "code=pin_mismatch", and: ["event=alert"]).isEmpty })
                try await Task.sleep(for: .seconds(3))
                #expect(logLines(bench.router.log, with: "code=pin_mismatch", and: ["event=alert", "destination=la-front-door"]).count == 1,
                        "one attempt, then a 10-minute wait")
                #expect(try bench["la-front-door"].received().isEmpty, "nothing was sent to a partner whose key does not match")
                #expect(bench.receiptEntry(id)?["status"] as? String == "queued")

                // The operator puts the right pin in and reloads: delivered now, not in 10 minutes.
                let file = bench.sandbox.configDirectory + "/router.toml"
                let text = try String(contentsOfFile: file, encoding: .utf8)
                try text.replacingOccurrences(of: pins.wrong, with: pins.right).write(toFile: file, atomically: true, encoding: .utf8)
                bench.router.signal(SIGHUP)
                let requests = try await bench["la-front-door"].waitForRequests(count: 1, timeout: .seconds(20))
                #expect(requests.count == 1)
                #expect(requests.first.flatMap(envelopeReferralId) == id)
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
            }
        }

        @Test func mutualTLSWithSecretsFromCredentialsAndFilesThatNeverLeak() async throws {
            let token = "tok-" + UUID().uuidString
            var passphrase = ""
            let bench = try await DeliveryBench.start(
                prefix: "dl-mtls",
                partners: ["la-front-door": .init(requireClientCertificate: true)],
                lines: { pki in
                    passphrase = pki.clientKeyPassphrase
                    return ["la-front-door": [
                        "client_certificate = \"\(pki.clientCertificate)\"",
                        "client_key = \"\(pki.clientKeyEncrypted)\"",
                        "client_key_passphrase = \"credential:partner-key-passphrase\"",
                        "bearer_token = \"\(pki.directory)/../secrets/la-token\"",
                    ]]
                },
                environment: { sandbox in ["CREDENTIALS_DIRECTORY": sandbox.root + "/credentials"] },
                prepare: { sandbox in
                    // systemd's LoadCredential= gives the service a private directory of files.
                    let credentials = sandbox.root + "/credentials"
                    let secrets = sandbox.root + "/secrets"
                    for directory in [credentials, secrets] {
                        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                                attributes: [.posixPermissions: 0o700])
                    }
                    _ = FileManager.default.createFile(atPath: credentials + "/partner-key-passphrase", contents: Data((passphrase + "\n").utf8),
                                                       attributes: [.posixPermissions: 0o600])
                    _ = FileManager.default.createFile(atPath: secrets + "/la-token", contents: Data((token + "\n").utf8),
                                                       attributes: [.posixPermissions: 0o600])
                })
            try await bench.run { bench in
                let id = try bench.drop()
                let requests = try await bench["la-front-door"].waitForRequests(count: 1, timeout: .seconds(30))
                let request = try #require(requests.first)
                #expect(request.clientCertSubject == bench.sandbox.pki.clientCertificateSubject, "the partner saw our client certificate")
                #expect(request.header("Authorization") == "Bearer \(token)", "the token from the file, without its newline")
                #expect(envelopeReferralId(request) == id)
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(await waitUntil(timeout: .seconds(15)) { bench.state.statusJSON() != nil })

                let statusJSON = try String(contentsOfFile: bench.sandbox.stateDirectory + "/status.json", encoding: .utf8)
                let report = try await bench.state.statusCommand(json: true)
                let configuration = try String(contentsOfFile: bench.sandbox.configDirectory + "/router.toml", encoding: .utf8)
                for secret in [token, passphrase] {
                    #expect(!bench.router.log.contains(secret), "no secret in the log")
                    #expect(!statusJSON.contains(secret), "no secret in status.json")
                    #expect(!report.output.contains(secret), "no secret in status --json")
                    #expect(!configuration.contains(secret), "the configuration holds references only")
                }
            }
        }

        @Test func aPartnerCertificateThatExpiresSoonIsReportedInTheLogAndByStatus() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-expiry", partners: [
                "la-front-door": .init(serverCertificate: .expiring, lines: ["certificate_expiry_warning_days = 30"]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" }, "an expiring certificate is still valid")
                let warnings = logLines(bench.router.log, with: "code=certificate_expiring", and: ["event=alert", "destination=la-front-door"])
                #expect(warnings.count == 1, "one warning in the log")

                #expect(await waitUntil(timeout: .seconds(15)) { bench.state.destinationStatus("la-front-door")?["certificateExpiresSoon"] as? Bool == true })
                let notAfter = try #require(bench.state.destinationStatus("la-front-door")?["certificateNotAfter"])
                let expected = bench.sandbox.pki.expiringServerNotAfter.timeIntervalSince1970 * 1000
                // status.json writes times in RFC 3339 (UTC, milliseconds).
                let text = try #require(notAfter as? String)
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                let reported = try #require(formatter.date(from: text)).timeIntervalSince1970 * 1000
                #expect(abs(reported - expected) < 2000, "status.json carries the partner's notAfter")

                let report = try await bench.state.statusCommand()
                #expect(report.exitCode == 1, "an expiring certificate needs attention")
                #expect(report.output.contains("CERTIFICATE EXPIRES"), "\(report.output)")
                #expect(report.output.contains("ALERT: destination la-front-door certificate expires at"), "\(report.output)")
                #expect(report.output.components(separatedBy: "certificate expires at").count == 2, "the alert is listed once")
            }
        }

        @Test func aCertificateFarFromExpiryRaisesNoWarning() async throws {
            let bench = try await DeliveryBench.start(prefix: "dl-no-expiry", partners: [
                "la-front-door": .init(lines: ["certificate_expiry_warning_days = 30"]),
            ])
            try await bench.run { bench in
                let id = try bench.drop()
                #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
                #expect(await waitUntil(timeout: .seconds(15)) { bench.state.destinationStatus("la-front-door")?["certificateNotAfter"] != nil })
                #expect(bench.state.destinationStatus("la-front-door")?["certificateExpiresSoon"] as? Bool == false)
                #expect(logLines(bench.router.log, with: "code=certificate_expiring").isEmpty)
                let report = try await bench.state.statusCommand()
                #expect(report.exitCode == 0, "\(report.output)")
                #expect(!report.output.contains("CERTIFICATE EXPIRES"))
            }
        }
    }
}

extension DeliveryEndToEndTests.TLS {
    @Test func aDestinationWithAProxyTunnelsThroughItWithVerificationOn() async throws {
        let proxyDirectory = try TestPaths.makeTemporaryDirectory(prefix: "dl-proxy")
        defer { TestPaths.removeDirectory(proxyDirectory) }
        let proxy = try await ConnectProxy(directory: proxyDirectory)
        defer { proxy.stop() }
        var passphrase = ""
        let bench = try await DeliveryBench.start(
            prefix: "dl-proxy",
            partners: ["la-front-door": .init(requireClientCertificate: true, lines: ["proxy = \"\(proxy.url)\""])],
            lines: { pki in
                passphrase = pki.clientKeyPassphrase
                // The key passphrase from a file path this time, rather than a credential.
                return ["la-front-door": [
                    "client_certificate = \"\(pki.clientCertificate)\"",
                    "client_key = \"\(pki.clientKeyEncrypted)\"",
                    "client_key_passphrase = \"\(pki.directory)/../key-passphrase\"",
                    "pinned_public_keys = [\"\(pki.serverPin)\"]",
                ]]
            },
            prepare: { sandbox in
                _ = FileManager.default.createFile(atPath: sandbox.root + "/key-passphrase", contents: Data(passphrase.utf8),
                                                   attributes: [.posixPermissions: 0o600])
            })
        try await bench.run { bench in
            let id = try bench.drop()
            let request = try #require(try await bench["la-front-door"].waitForRequests(count: 1, timeout: .seconds(30)).first)
            #expect(envelopeReferralId(request) == id)
            #expect(request.clientCertSubject == bench.sandbox.pki.clientCertificateSubject)
            #expect(proxy.tunnels().contains("127.0.0.1:\(bench["la-front-door"].port)"), "the transfer went through the proxy: \(proxy.tunnels())")
            #expect(await waitUntil { bench.receiptEntry(id)?["status"] as? String == "delivered" })
            #expect(!bench.router.log.contains(passphrase))
        }
    }
}

extension DeliveryEndToEndTests.TLS {
    @Test func aSecretPastedIntoTheConfigurationIsRefusedWithoutBeingEchoed() async throws {
        let sandbox = try RouterSandbox(prefix: "dl-pasted-secret")
        defer { sandbox.remove() }
        let pasted = "pasted-" + UUID().uuidString
        var destinations = DestinationSpec.shipped(urls: [:])
        destinations[0].lines = ["bearer_token = \"\(pasted)\""]
        try sandbox.writeConfiguration(destinations: destinations)
        let check = try RouterProcess(arguments: ["check-config", "--config", sandbox.configDirectory], logFile: sandbox.root + "/check.out")
        #expect(await check.waitForExit() != 0, "a token in router.toml is refused")
        #expect(check.log.contains("bearer_token"), "\(check.log)")
        #expect(!check.log.contains(pasted), "and never repeated")
    }
}

extension DeliveryEndToEndTests.TLS {
    @Test(arguments: [false, true])
    func aClientCertificateProblemSendsNothingAndAlerts(wrongPassphrase: Bool) async throws {
        // Either no client certificate for a partner that requires one, or the right certificate with a
        // key whose passphrase is wrong.
        let bench = try await DeliveryBench.start(
            prefix: "dl-client-cert",
            partners: ["la-front-door": .init(requireClientCertificate: true, lines: ["tls_failure_retry_seconds = 600"])],
            lines: { pki in
                guard wrongPassphrase else { return [:] }
                return ["la-front-door": [
                    "client_certificate = \"\(pki.clientCertificate)\"",
                    "client_key = \"\(pki.clientKeyEncrypted)\"",
                    "client_key_passphrase = \"\(pki.directory)/../wrong-passphrase\"",
                ]]
            },
            prepare: { sandbox in
                _ = FileManager.default.createFile(atPath: sandbox.root + "/wrong-passphrase", contents: Data("not-the-passphrase".utf8),
                                                   attributes: [.posixPermissions: 0o600])
            })
        try await bench.run { bench in
            let id = try bench.drop()
            #expect(await waitUntil {
                !logLines(bench.router.log, with: "code=client_certificate", and: ["event=alert", "destination=la-front-door"]).isEmpty
            }, "an alert names the client certificate: \(bench.router.log.suffix(1500))")
            try await Task.sleep(for: .seconds(2))
            #expect(try bench["la-front-door"].received().isEmpty, "the partner processed nothing")
            #expect(logLines(bench.router.log, with: "code=client_certificate", and: ["event=alert"]).count == 1, "one attempt, then a slow wait")
            #expect(bench.receiptEntry(id)?["status"] as? String == "queued")
        }
    }
}

extension DeliveryEndToEndTests.TLS {
    /// A TLS failure that opens the breaker (threshold 1) as well as pausing the destination: the
    /// breaker's cool-down ends long before the pause, and the worker must sleep, not spin. (Failures
    /// of transfers in flight together count once, so it is the threshold that opens it here.)
    @Test func aDestinationPausedWithItsBreakerOpenSleeps() async throws {
        let bench = try await DeliveryBench.start(prefix: "dl-pause-idle", partners: [
            "la-front-door": .init(serverCertificate: .wrongCA, lines: [
                "max_in_flight = 4", "breaker_failure_threshold = 1", "breaker_cooldown_seconds = 0.5", "tls_failure_retry_seconds = 600",
            ]),
        ], prepare: { sandbox in
            // Waiting before the router starts, so it sends four at once and all four fail.
            try FileManager.default.createDirectory(atPath: sandbox.inbound("health-visiting"), withIntermediateDirectories: true)
            for _ in 0..<6 {
                let id = UUID().uuidString.lowercased()
                try dropFile(try RouterSandbox.example("valid/minimal-safeguarding.json", referralId: id), named: "\(id).json",
                             into: sandbox.inbound("health-visiting"))
            }
        })
        try await bench.run { bench in
            #expect(await waitUntil { !logLines(bench.router.log, with: "code=breaker_open", and: ["destination=la-front-door"]).isEmpty })
            // Past the cool-down, well within the TLS pause: the daemon should be idle.
            try await Task.sleep(for: .seconds(1))
            let before = try cpuSeconds(pid: bench.router.pid)
            try await Task.sleep(for: .seconds(4))
            let used = try cpuSeconds(pid: bench.router.pid) - before
            // Idle measures about 0.01 s here; the loop spinning on a past deadline measured 0.19 s.
            #expect(used < 0.1, "the router used \(used) s of CPU in 4 s while paused")
            #expect(try bench["la-front-door"].received().isEmpty)
        }
    }

    /// User plus system CPU time of a process so far, from /proc.
    private func cpuSeconds(pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
        guard let close = stat.lastIndex(of: ")") else { throw TestSupportError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw TestSupportError("unreadable /proc/\(pid)/stat")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
