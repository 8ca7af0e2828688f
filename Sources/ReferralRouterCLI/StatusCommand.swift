import ArgumentParser
import Foundation
import ReferralRouter

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what the router holds and is doing: pending, delivered and dead-lettered deliveries per destination, alerts.",
        discussion: """
            Reads the database in the state directory (works whether or not the daemon runs) and the
            daemon's status.json (in-flight transfers, open breakers, intake pauses).

            Exit status: 0 running with no alerts, 1 not running or alerts need attention, 2 usage or I/O error.

            Examples:
              referral-router status --config /etc/referral-router
              referral-router status --config routes --state-directory /tmp/rr/state --json
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Overrides [router] state_directory.", valueName: "dir"))
    var stateDirectory: String?

    @Flag(help: "Print the daemon's status.json (or the store's counts) as JSON.")
    var json = false

    func run() async throws {
        let configuration: RouterConfiguration
        do {
            configuration = try RouterConfiguration.load(directory: options.config,
                                                         overrides: ConfigurationOverrides(stateDirectory: stateDirectory))
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(CheckExit.usage)
        }
        let statusPath = configuration.stateDirectory + "/status.json"
        let decoder = JSONDecoder()
        let runtime = FileManager.default.contents(atPath: statusPath).flatMap { try? decoder.decode(RuntimeStatus.self, from: $0) }
        let fresh = runtime.map { Timestamp.now().millisecondsSinceEpoch - $0.updatedAt.millisecondsSinceEpoch < 15_000 } ?? false
        guard FileManager.default.fileExists(atPath: configuration.databasePath) else {
            print("No database at \(configuration.databasePath): the router has not run with this state directory.")
            throw ExitCode(CheckExit.invalid)
        }
        let store: StoreStatus
        do {
            store = try await SQLiteReferralStore(path: configuration.databasePath, auditKey: nil).status()
        } catch {
            FileHandle.standardError.write(Data("cannot read \(configuration.databasePath): \(error)\n".utf8))
            throw ExitCode(CheckExit.usage)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = (try? runtime.map { try encoder.encode($0) } ?? encoder.encode(store)) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(StatusReport.render(store: store, runtime: fresh ? runtime : nil))
        }
        let alerts = (fresh ? (runtime?.alerts.count ?? 0) : 0) + (store.dead > 0 ? 1 : 0)
        if !fresh || alerts > 0 { throw ExitCode(CheckExit.invalid) }
    }
}

enum StatusReport {
    static func render(store: StoreStatus, runtime: RuntimeStatus?) -> String {
        var lines: [String] = []
        if let runtime {
            lines.append("Router running (pid \(runtime.pid), since \(runtime.startedAt.rfc3339), configuration generation \(runtime.configurationGeneration)).")
            lines.append("Intake: \(runtime.intakePaused.map { "PAUSED — \($0)" } ?? "taking files"), backlog \(runtime.intakeBacklog)\(runtime.intakeMoreWaiting == true ? "+ (more in the folders)" : ""); receipts backlog \(runtime.receiptsBacklog); transfers in flight \(runtime.transfersInFlight).")
        } else {
            lines.append("Router NOT RUNNING (no fresh status.json); counts below are from the database.")
        }
        lines.append("Referrals: \(store.referrals) (" + store.byReceipt.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "); duplicates \(store.duplicates); audit events \(store.auditEvents).")
        lines.append("Destination            pending  immediate  delivered  dead  oldest pending")
        for destination in store.destinations {
            let oldest = destination.oldestPendingAt.map { "\((Timestamp.now().millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000) s" } ?? "-"
            let flags = runtime?.destinations.first { $0.destination == destination.destination }.map(Self.flags) ?? ""
            lines.append(destination.destination.padding(toLength: 22, withPad: " ", startingAt: 0)
                         + " \(pad(destination.pending, 7))  \(pad(destination.pendingImmediate, 9))  \(pad(destination.delivered, 9))  \(pad(destination.dead, 4))  \(oldest)\(flags)")
        }
        for agency in store.agencies {
            lines.append("Agency \(agency.agency): \(agency.received) received, last \(agency.lastReceivedAt?.rfc3339 ?? "never").")
        }
        // status.json's alerts already include expiring certificates.
        for alert in runtime?.alerts ?? [] { lines.append("ALERT: \(alert)") }
        if runtime == nil, store.dead > 0 { lines.append("ALERT: \(store.dead) dead-lettered deliveries need an operator") }
        return lines.joined(separator: "\n")
    }

    /// Partners whose certificate expires within their `certificate_expiry_warning_days`.

    /// What an operator must notice on a destination's line: a paused partner, a certificate about to expire.
    private static func flags(_ destination: DestinationSnapshot) -> String {
        var text = ""
        if destination.breakerOpen { text += "  BREAKER OPEN (\(destination.consecutiveFailures) consecutive failures)" }
        if destination.certificateExpiresSoon {
            text += "  CERTIFICATE EXPIRES \(destination.certificateNotAfter?.rfc3339 ?? "soon")"
        }
        return text
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(width - text.count, 0)) + text
    }
}
