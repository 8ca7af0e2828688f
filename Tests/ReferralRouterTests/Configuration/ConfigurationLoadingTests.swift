import Foundation
import Testing
@testable import ReferralRouter
import TestSupport

struct ConfigurationLoadingTests {
    @Test func shippedConfigurationLoadsWithEveryAgencyDestinationAndRule() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        let configuration = try fixture.load()
        #expect(configuration.agencies.map(\.id) == RouterSandbox.agencies)
        #expect(configuration.destinations.map(\.id) == ["la-front-door", "police-ppu", "health-safeguarding", "school-dsl", "early-help-hub"])
        #expect(configuration.routing.rules.map(\.name) == ["R1", "R2", "R3", "R4", "R5", "R6", "R7"])
        #expect(configuration.routing.safetyNet?.destination == "la-front-door")
        #expect(configuration.schema.id == "https://referral-router.dev/schemas/referral/1.0.0")
        #expect(configuration.stateDirectory == "/var/lib/referral-router")
        #expect(configuration.agency("oakfield-primary")?.inboundDirectory == "/var/spool/referral-router/inbound/oakfield-primary")
        #expect(configuration.destination("health-safeguarding")?.format == .fhir)
        #expect(configuration.deliveryDefaults.maxAge == .seconds(120 * 3600))
        #expect(configuration.destination("la-front-door")?.delivery.maxInFlight == 16, "a per-destination override")
        #expect(configuration.destination("police-ppu")?.delivery.maxInFlight == 8, "the [delivery] default")
    }

    @Test func commandLineOverridesReplaceTheConfiguredDirectories() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        let configuration = try RouterConfiguration.load(directory: fixture.directory,
                                                         overrides: ConfigurationOverrides(stateDirectory: "/tmp/s", spoolDirectory: "/tmp/p"))
        #expect(configuration.stateDirectory == "/tmp/s")
        #expect(configuration.agency("health-visiting")?.receiptsDirectory == "/tmp/p/receipts/health-visiting")
    }

    /// The WAL checkpoint interval: shipped value, absent (the default), and out of range refused.
    @Test func theWALCheckpointIntervalHasADefaultAndARange() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        #expect(try fixture.load().walCheckpointInterval == .milliseconds(250))
        try fixture.replace(in: "router.toml", "wal_checkpoint_interval_seconds = 0.25", with: "wal_checkpoint_interval_seconds = 2")
        #expect(try fixture.load().walCheckpointInterval == .seconds(2))
        try fixture.replace(in: "router.toml", "wal_checkpoint_interval_seconds = 2", with: "")
        #expect(try fixture.load().walCheckpointInterval == .milliseconds(250))
        try fixture.replace(in: "router.toml", "shutdown_drain_seconds = 20", with: "shutdown_drain_seconds = 20\nwal_checkpoint_interval_seconds = 0")
        #expect(fixture.problems().map(\.key) == ["router.wal_checkpoint_interval_seconds"])
    }

    @Test func theDatabaseCachesHaveDefaultsAndRanges() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        let defaults = try fixture.load()
        #expect(defaults.writerCacheKiB == 1024 && defaults.readerCacheKiB == 1024)
        try fixture.replace(in: "router.toml", "writer_cache_kib = 1024", with: "writer_cache_kib = 8192")
        try fixture.replace(in: "router.toml", "reader_cache_kib = 1024", with: "reader_cache_kib = 256")
        let sized = try fixture.load()
        #expect(sized.writerCacheKiB == 8192 && sized.readerCacheKiB == 256)
        try fixture.replace(in: "router.toml", "writer_cache_kib = 8192", with: "writer_cache_kib = 16")
        try fixture.replace(in: "router.toml", "reader_cache_kib = 256", with: "reader_cache_kib = 0")
        #expect(fixture.problems().map(\.key) == ["router.writer_cache_kib", "router.reader_cache_kib"])
        // Without the keys: the defaults.
        try fixture.replace(in: "router.toml", "writer_cache_kib = 16", with: "")
        try fixture.replace(in: "router.toml", "reader_cache_kib = 0", with: "")
        #expect(try fixture.load().writerCacheKiB == 1024)
    }

    @Test func theWaitingFilesLimitHasADefaultAndMayNotBeSmallerThanABatch() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        #expect(try fixture.load().intake.maxWaitingFiles == 4096)
        try fixture.replace(in: "router.toml", "max_waiting_files = 4096", with: "max_waiting_files = 100000")
        #expect(try fixture.load().intake.maxWaitingFiles == 100_000)
        try fixture.replace(in: "router.toml", "max_waiting_files = 100000", with: "max_waiting_files = 64")
        let problems = fixture.problems()
        #expect(problems.map(\.key) == ["intake.max_waiting_files"])
        #expect(problems.first?.description.contains("at least batch_max_files (128)") == true)
    }

    @Test func unknownKeyIsReportedWithFileLineAndKey() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "router.toml", "max_file_bytes = 1048576", with: "max_file_bytes = 1048576\nmax_file_byte = 10")
        let line = try fixture.line(of: "max_file_byte = 10", in: "router.toml")
        let problems = fixture.problems()
        #expect(problems.map(\.description) == ["\(fixture.directory)/router.toml:\(line): intake.max_file_byte: is not a known key here"])
    }

    @Test func everyProblemIsListedNotOnlyTheFirst() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "router.toml", "max_in_flight = 8", with: "max_in_flight = \"eight\"")
        try fixture.replace(in: "router.toml", #"partner_type = "police""#, with: #"partner_type = "polis""#)
        try fixture.replace(in: "router.toml", "retry_cap_seconds = 300", with: "retry_cap_seconds = -1")
        let problems = fixture.problems()
        #expect(problems.count >= 3)
        #expect(problems.contains { $0.key == "delivery.max_in_flight" && $0.message.contains("must be an integer") })
        #expect(problems.contains { $0.key == "destination[1].partner_type" && $0.message.contains("\"polis\" is not one of") })
        #expect(problems.contains { $0.key == "delivery.retry_cap_seconds" && $0.message.contains("out of range") })
        let line = try fixture.line(of: #"partner_type = "polis""#, in: "router.toml")
        #expect(problems.first { $0.key == "destination[1].partner_type" }?.line == line)
    }

    @Test func tomlSyntaxErrorNamesTheLine() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "rules.toml", "[[rule]]\nname = \"R2\"", with: "[[rule]]\nname = \"R2")
        let problems = fixture.problems()
        let line = try fixture.line(of: "name = \"R2", in: "rules.toml")
        #expect(problems.count == 1)
        #expect(problems.first?.file.hasSuffix("rules.toml") == true)
        #expect(problems.first?.line == line)
    }

    @Test func aSecretWrittenIntoTheConfigurationIsRefusedWithoutEchoingIt() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "router.toml", #"url = "https://127.0.0.1:9442/referrals""#,
                            with: "url = \"https://127.0.0.1:9442/referrals\"\nbearer_token = \"s3cr3t-t0ken-value\"")
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.key == "destination[1].bearer_token")
        #expect(problems.first?.message.contains("never the secret itself") == true)
        #expect(!problems.description.contains("s3cr3t"))
    }

    @Test func turningVerificationOffIsRefusedForARemotePartner() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "router.toml", #"url = "https://127.0.0.1:9442/referrals""#,
                            with: "url = \"https://police.example.org/referrals\"\ntls_verification = \"skip-for-loopback-only\"")
        let problems = fixture.problems()
        #expect(problems.count == 1)
        #expect(problems.first?.key == "destination[1].tls_verification")
        #expect(problems.first?.message.contains("cannot be switched off for a remote partner") == true)
    }

    @Test func loopbackOnlySwitchIsAcceptedForLoopback() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "router.toml", #"url = "https://127.0.0.1:9442/referrals""#,
                            with: "url = \"https://[::1]:9442/referrals\"\ntls_verification = \"skip-for-loopback-only\"")
        #expect(fixture.problems().isEmpty)
    }

    @Test func plainHTTPAndUserinfoURLsAreRefused() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.replace(in: "router.toml", #"url = "https://127.0.0.1:9442/referrals""#, with: #"url = "http://127.0.0.1:9442/referrals""#)
        try fixture.replace(in: "router.toml", #"url = "https://127.0.0.1:9444/referrals""#, with: #"url = "https://user@127.0.0.1:9444/referrals""#)
        let keys = fixture.problems().map(\.key)
        #expect(keys.contains("destination[1].url"))
        #expect(keys.contains("destination[3].url"))
    }

    @Test func duplicateAgencyAndSharedInboundFolderAreReported() throws {
        let fixture = try ConfigurationFixture()
        defer { fixture.remove() }
        try fixture.append(to: "router.toml", "[[agency]]\nid = \"oakfield-primary\"\n")
        let problems = fixture.problems()
        #expect(problems.contains { $0.message.contains("agency \"oakfield-primary\" is defined twice") })
        #expect(problems.contains { $0.message.contains("share the inbound folder") })
    }
}

struct TOMLSourceMapTests {
    @Test func findsKeysInTablesArraysOfTablesAndSubTables() {
        let map = TOMLSourceMap(text: """
            # comment
            [router]
            state_directory = "/x"

            [[destination]]
            id = "a"
            [[destination]]
            id = "b"
            url = "https://x"
            [destination.retry]
            base = 1
            [[rule]]
            name = "R1"
            text = \"\"\"
            key = "not a key"
            \"\"\"
            list = [
              "a = b",
            ]
            after = 2
            """)
        #expect(map.line(of: "router.state_directory") == 3)
        #expect(map.line(of: "destination[0].id") == 6)
        #expect(map.line(of: "destination[1].url") == 9)
        #expect(map.line(of: "destination[1].retry.base") == 11)
        #expect(map.line(of: "rule[0].after") == 20)
        #expect(map.line(of: "rule[0].key") == 12, "inside a multi-line string is not a key: falls back to the table")
        #expect(map.line(of: "destination[1].missing") == 7, "an absent key falls back to its table")
    }
}
