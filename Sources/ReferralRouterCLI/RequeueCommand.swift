import ArgumentParser
import Foundation
import ReferralRouter

struct RequeueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "requeue",
        abstract: "Put dead-lettered deliveries back in the queue, once the cause has been fixed.",
        discussion: """
            Sets matching dead-lettered deliveries back to pending with their attempts reset, records the
            operator's action in the audit, and asks a running router (by the pid in status.json) to pick
            them up with SIGHUP. Each keeps its payload and idempotency key. Give --destination, --referral,
            both, or --all.

            Exit status: 0 done (even if nothing matched), 2 usage or I/O error.

            Examples:
              referral-router requeue --config /etc/referral-router --destination police-ppu
              referral-router requeue --config /etc/referral-router --referral 3f2a0c1e-...
            """)

    @OptionGroup var options: ConfigOption

    @Option(help: ArgumentHelp("Overrides [router] state_directory.", valueName: "dir"))
    var stateDirectory: String?

    @Option(help: ArgumentHelp("Only deliveries to this destination.", valueName: "id"))
    var destination: String?

    @Option(help: ArgumentHelp("Only deliveries of this referral.", valueName: "referral-id"))
    var referral: String?

    @Flag(help: "Every dead-lettered delivery.")
    var all = false

    func validate() throws {
        if destination == nil, referral == nil, !all { throw ValidationError("give --destination, --referral or --all") }
    }

    func run() async throws {
        do {
            let configuration = try RouterConfiguration.load(directory: options.config,
                                                             overrides: ConfigurationOverrides(stateDirectory: stateDirectory))
            let store = try SQLiteReferralStore(path: configuration.databasePath, auditKey: try configuration.audit.hmacKey.map {
                try $0.read(environment: ProcessInfo.processInfo.environment)
            })
            let count = try await store.requeueDeadDeliveries(destination: destination, referralId: referral?.lowercased(), at: .now())
            print("Requeued \(count) dead-lettered \(count == 1 ? "delivery" : "deliveries").")
            guard count > 0 else { return }
            let statusPath = configuration.stateDirectory + "/status.json"
            if let data = FileManager.default.contents(atPath: statusPath),
               let runtime = try? JSONDecoder().decode(RuntimeStatus.self, from: data),
               Timestamp.now().millisecondsSinceEpoch - runtime.updatedAt.millisecondsSinceEpoch < 15_000,
               kill(runtime.pid, SIGHUP) == 0 {
                print("Asked the running router (pid \(runtime.pid)) to pick them up.")
            } else {
                print("The router is not running: they are picked up when it starts (or run systemctl reload referral-router).")
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("referral-router requeue: \(error)\n".utf8))
            throw ExitCode(CheckExit.usage)
        }
    }
}
