import ArgumentParser
import Foundation
import ReferralRouter

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration directory without starting the router.",
        discussion: """
            Loads router.toml, the route files and the schema exactly as `run` and a SIGHUP reload do, and
            lists every problem with its file, line and key. Secrets given as absolute paths are read to
            check them; `credential:NAME` secrets are checked only when $CREDENTIALS_DIRECTORY is set.

            Exit status: 0 good, 2 problems found (or usage error).

            Example:
              referral-router check-config --config /etc/referral-router
            """)

    @OptionGroup var options: ConfigOption

    func run() throws {
        let configuration: RouterConfiguration
        do {
            configuration = try RouterConfiguration.load(directory: options.config)
        } catch {
            print(error.description)
            throw ExitCode(CheckExit.usage)
        }
        var environment = ProcessInfo.processInfo.environment
        if environment["CREDENTIALS_DIRECTORY"] == nil {
            environment["CREDENTIALS_DIRECTORY"] = "/nonexistent-credentials-directory"
        }
        do {
            _ = try ResolvedSecrets.resolve(configuration, environment: environment)
        } catch {
            let real = error.problems.filter { ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"] != nil || !$0.message.contains("credential:") }
            if !real.isEmpty {
                print(ConfigurationError(problems: real).description)
                throw ExitCode(CheckExit.usage)
            }
            print("Note: credential: secrets were not checked ($CREDENTIALS_DIRECTORY is not set).")
        }
        print("Configuration OK: \(configuration.agencies.count) agencies, \(configuration.destinations.count) destinations, \(configuration.routing.rules.count) rules, schema \(configuration.schema.id ?? configuration.schemaFile).")
    }
}
