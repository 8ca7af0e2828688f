import ArgumentParser
import Foundation
import LinuxSystem
import ReferralRouter

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Work with the tamper-evident audit log.",
        subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Recompute the audit hash chain and report the first broken event, if any.",
            discussion: """
                Exit status: 0 intact, 1 broken, 2 usage or I/O error.

                Example:
                  referral-router audit verify --config /etc/referral-router
                """)

        @OptionGroup var options: ConfigOption

        @Option(help: ArgumentHelp("Overrides [router] state_directory.", valueName: "dir"))
        var stateDirectory: String?

        func run() async throws {
            do {
                let configuration = try RouterConfiguration.load(directory: options.config,
                                                                 overrides: ConfigurationOverrides(stateDirectory: stateDirectory))
                let key = try configuration.audit.hmacKey.map { try $0.read(environment: ProcessInfo.processInfo.environment) }
                guard FileManager.default.fileExists(atPath: configuration.databasePath) else {
                    print("No database at \(configuration.databasePath).")
                    throw ExitCode(CheckExit.usage)
                }
                let store = try SQLiteReferralStore(path: configuration.databasePath, auditKey: key)
                let result = try await store.verifyAudit()
                print(result.description)
                if !result.isIntact { throw ExitCode(CheckExit.invalid) }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                FileHandle.standardError.write(Data("referral-router audit verify: \(error)\n".utf8))
                throw ExitCode(CheckExit.usage)
            }
        }
    }
}
