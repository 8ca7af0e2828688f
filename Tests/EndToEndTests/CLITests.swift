import Foundation
import Testing
import TestSupport

/// The referral-router commands as an operator runs them: output and exit codes.
struct CLITests {
    struct Result {
        var status: Int32
        var output: String
    }

    static func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RouterProcess.binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The shipped routes/ configuration copied to a temp dir with its local CA file made.
    static func shippedConfiguration() throws -> String {
        let root = try TestPaths.makeTemporaryDirectory(prefix: "cli")
        let routes = TestPaths.packageRoot + "/routes"
        try FileManager.default.createDirectory(atPath: root + "/local-tls", withIntermediateDirectories: true)
        for name in ["router.toml", "rules.toml", "referral.schema.json"] {
            try FileManager.default.copyItem(atPath: routes + "/" + name, toPath: root + "/" + name)
        }
        try "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".write(toFile: root + "/local-tls/ca.pem", atomically: true, encoding: .utf8)
        return root
    }

    static let examples = TestPaths.packageRoot + "/routes/examples"

    @Test func validateExitsZeroOneOrTwo() throws {
        let config = try Self.shippedConfiguration()
        defer { TestPaths.removeDirectory(config) }
        let valid = try Self.run(["validate", "--config", config, Self.examples + "/valid/typical-school-neglect.json", Self.examples + "/valid/minimal-safeguarding.json"])
        #expect(valid.status == 0)
        #expect(valid.output.contains("typical-school-neglect.json: valid"))

        let invalid = try Self.run(["validate", "--config", config, Self.examples + "/valid/minimal-safeguarding.json", Self.examples + "/invalid/nhs-number-bad-check-digit.json"])
        #expect(invalid.status == 1)
        #expect(invalid.output.contains("nhs-number-bad-check-digit.json: invalid (1 error)"))
        #expect(invalid.output.contains("/child/nhsNumber  [format]  child.nhsNumber:"))
        #expect(invalid.output.range(of: #"\n  \d+:\d+  /child/nhsNumber"#, options: .regularExpression) != nil, "line:column first")

        let missing = try Self.run(["validate", "--config", config, "/nonexistent.json"])
        #expect(missing.status == 2)
        let badConfig = try Self.run(["validate", "--config", "/nonexistent-config", Self.examples + "/valid/minimal-safeguarding.json"])
        #expect(badConfig.status == 2)
    }

    @Test func validateJSONLinesAndAnotherSchemaWithAndWithoutFormatAssertion() throws {
        let json = try Self.run(["validate", "--schema", TestPaths.packageRoot + "/routes/referral.schema.json", "--assert-format", "--json",
                                 Self.examples + "/invalid/nhs-number-bad-check-digit.json"])
        #expect(json.status == 1)
        let line = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
        #expect(line["valid"] as? Bool == false)
        let error = try #require((line["errors"] as? [[String: Any]])?.first)
        #expect(error["pointer"] as? String == "/child/nhsNumber")
        #expect(error["keyword"] as? String == "format")
        #expect(error["line"] is Int)
        // The standard's default: format is an annotation, so the bad check digit passes.
        let annotation = try Self.run(["validate", "--schema", TestPaths.packageRoot + "/routes/referral.schema.json",
                                       Self.examples + "/invalid/nhs-number-bad-check-digit.json"])
        #expect(annotation.status == 0)
    }

    @Test func checkConfigPassesTheShippedConfigurationAndListsProblemsOtherwise() throws {
        let config = try Self.shippedConfiguration()
        defer { TestPaths.removeDirectory(config) }
        let good = try Self.run(["check-config", "--config", config])
        #expect(good.status == 0)
        #expect(good.output.contains("Configuration OK: 5 agencies, 5 destinations, 7 rules"))

        let rules = try String(contentsOfFile: config + "/rules.toml", encoding: .utf8)
        try rules.replacingOccurrences(of: "send_to = [\"early-help-hub\"]", with: "send_to = [\"early-help\"]")
            .write(toFile: config + "/rules.toml", atomically: true, encoding: .utf8)
        let bad = try Self.run(["check-config", "--config", config])
        #expect(bad.status == 2)
        #expect(bad.output.contains("rules.toml:"))
        #expect(bad.output.contains("rule[4].send_to: names unknown destination \"early-help\""))
        #expect(bad.output.contains("destination \"early-help-hub\" is reached by no rule"))
    }

    @Test func routeDryRunPrintsDecisionsAndExitsOneWhenSomethingIsNotRouted() throws {
        let config = try Self.shippedConfiguration()
        defer { TestPaths.removeDirectory(config) }
        let routed = try Self.run(["route", "--config", config, "--json", Self.examples + "/valid/police-domestic-abuse-school-known.json"])
        #expect(routed.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(routed.output.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["file", "referralId", "valid", "safetyNet", "rules", "deliveries", "notSent", "receipt"])
        let deliveries = try #require(object["deliveries"] as? [[String: Any]])
        #expect(Set(deliveries.compactMap { $0["destination"] as? String }) == ["la-front-door", "police-ppu", "school-dsl"])
        for delivery in deliveries {
            #expect(Set(delivery.keys).isSuperset(of: ["destination", "partnerType", "rule", "basis", "format", "payload", "withheld"]))
        }
        let returned = try Self.run(["route", "--config", config, "--json", Self.examples + "/valid/information-only-consent-refused.json"])
        #expect(returned.status == 1)
        #expect(((try JSONSerialization.jsonObject(with: Data(returned.output.utf8)) as? [String: Any])?["receipt"] as? [String: Any])?["code"] as? String == "RETURNED")
        let text = try Self.run(["route", "--config", config, Self.examples + "/valid/typical-school-neglect.json"])
        #expect(text.output.contains("→ school-dsl (school, json) by R4, basis safeguarding"))
        #expect(text.output.contains("withheld:"))
    }

    @Test func everyCommandHasHelpWithExamples() throws {
        for command in ["run", "validate", "check-config", "route", "status", "audit verify"] {
            let help = try Self.run(command.split(separator: " ").map(String.init) + ["--help"])
            #expect(help.status == 0, "\(command) --help")
            #expect(help.output.contains("referral-router "), "\(command) --help shows an example")
        }
    }
}
