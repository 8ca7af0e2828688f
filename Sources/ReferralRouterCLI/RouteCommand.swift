import ArgumentParser
import Foundation
import ReferralRouter

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Dry run: show how referral files would be routed, and exactly what each partner would receive.",
        discussion: """
            Prints the rules that matched and those that did not (and why), each destination with its lawful
            basis, the exact payload it would receive, the fields withheld, and the receipt the referrer would
            get. Nothing is queued or sent.

            --json prints one object per file (JSON lines): file, referralId, valid, safetyNet, rules,
            deliveries (destination, partnerType, rule, basis, format, payload, withheld), notSent, receipt.

            Exit status: 0 every file routed to at least one destination, 1 any was not, 2 usage or I/O error.

            Example:
              referral-router route --config routes --json routes/examples/valid/*.json
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Route as if dropped by this agency (default: the first configured).", valueName: "id"))
    var agency: String?

    @Flag(help: "JSON lines output (a stable contract; see docs/configuration.md).")
    var json = false

    @Argument(help: ArgumentHelp("Referral files.", valueName: "file"))
    var files: [String] = []

    func run() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file") }
        let configuration: RouterConfiguration
        do {
            configuration = try RouterConfiguration.load(directory: options.config)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(CheckExit.usage)
        }
        let agencyID = agency ?? configuration.agencies.first?.id ?? "unknown"
        guard configuration.agency(agencyID) != nil else {
            throw ValidationError("unknown agency \(agencyID)")
        }
        var allRouted = true
        var unreadable = false
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("\(file): cannot be read\n".utf8))
                unreadable = true
                continue
            }
            let dryRun = DryRun(file: file, bytes: [UInt8](data), agency: agencyID, configuration: configuration)
            if !dryRun.isRouted { allRouted = false }
            print(json ? dryRun.json.jsonText() : dryRun.text)
        }
        if unreadable { throw ExitCode(CheckExit.usage) }
        if !allRouted { throw ExitCode(CheckExit.invalid) }
    }
}
