import ArgumentParser
import Foundation
import LinuxSystem
import Logging
import ReferralRouter

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the router daemon until SIGTERM or SIGINT.",
        discussion: """
            Reads DIR/router.toml, its route files and schema; refuses to start on a bad configuration
            (exit 78, every problem listed with file, line and key). SIGHUP reloads; SIGTERM/SIGINT stop
            intake, let in-flight transfers finish within shutdown_drain_seconds, and exit 0.

            Examples:
              referral-router run --config /etc/referral-router
              referral-router run --config routes --state-directory /tmp/rr/state --spool-directory /tmp/rr/spool
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Overrides [router] state_directory.", valueName: "dir"))
    var stateDirectory: String?

    @Option(help: ArgumentHelp("Overrides [router] spool_directory.", valueName: "dir"))
    var spoolDirectory: String?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        // glibc gives each thread its own malloc arena (up to 8 per core); their fragmentation, not
        // live data, dominates a long-running daemon's RSS. Two arenas are plenty for this workload.
        MemoryAllocator.limitArenas(to: 2)
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            LogHandlers.make(label: label, level: level)
        }
        let logger = Logger(label: "referral-router")
        let code = await Daemon.run(configDirectory: options.config,
                                    overrides: ConfigurationOverrides(stateDirectory: stateDirectory, spoolDirectory: spoolDirectory),
                                    logger: logger)
        if code != .success { throw ExitCode(code.rawValue) }
    }
}
