import ArgumentParser
import Foundation
import LinuxSystem
import ReferralRouter

@main
struct ReferralRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "referral-router",
        abstract: "Moves children's-services referrals between agencies safely.",
        discussion: """
            Agencies drop referral files into their inbound folders; the router validates them against
            the shared assessment schema, routes them under the configured consent and information-sharing
            rules, and delivers each partner only the fields it may see, over HTTPS or NHS MESH.

            Examples:
              referral-router run --config /etc/referral-router
              referral-router check-config --config routes
              referral-router validate --config routes routes/examples/valid/*.json
              referral-router route --config routes routes/examples/valid/typical-school-neglect.json
              referral-router status --config /etc/referral-router
            """,
        subcommands: [RunCommand.self, ValidateCommand.self, CheckConfigCommand.self, RouteCommand.self, StatusCommand.self, RequeueCommand.self, AuditCommand.self]
    )

    /// Unblocks the signals the daemon handles before anything else runs, whatever mask the parent
    /// left (threads created later inherit this one), then dispatches as ArgumentParser would.
    static func main() async {
        SignalMask.unblock([SIGTERM, SIGINT, SIGHUP])
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// `--config DIR`, shared by every command.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration directory holding router.toml.", valueName: "dir"))
    var config: String = "/etc/referral-router"
}

/// Exit codes shared by the checking commands: 0 all good, 1 something invalid, 2 usage or I/O error.
enum CheckExit {
    static let ok: Int32 = 0
    static let invalid: Int32 = 1
    static let usage: Int32 = 2
}
