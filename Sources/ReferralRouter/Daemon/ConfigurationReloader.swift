import LinuxSystem
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP: re-read and check routes, schema and settings, then swap atomically. A broken
/// configuration is refused with every problem logged (file, line, key) and the old one stays.
/// Deliveries already queued keep the payloads decided when they were routed.
final class ConfigurationReloader: Service, Sendable {
    private let directory: String
    private let overrides: ConfigurationOverrides
    private let environment: [String: String]
    private let live: LiveConfiguration
    private let store: any ReferralStore
    private let delivery: DeliveryService
    private let intake: FolderIntake
    private let receipts: ReceiptWriter
    private let notifier: ServiceNotifier
    private let logger: Logger

    init(directory: String, overrides: ConfigurationOverrides, environment: [String: String], live: LiveConfiguration,
         store: any ReferralStore, delivery: DeliveryService, intake: FolderIntake, receipts: ReceiptWriter,
         notifier: ServiceNotifier, logger: Logger) {
        self.directory = directory
        self.overrides = overrides
        self.environment = environment
        self.live = live
        self.store = store
        self.delivery = delivery
        self.intake = intake
        self.receipts = receipts
        self.notifier = notifier
        self.logger = logger
    }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await withGracefulShutdownHandler {
            for await _ in signals.cancelOnGracefulShutdown() {
                await reload()
            }
        } onGracefulShutdown: {}
    }

    /// Returns true when the new configuration is in force.
    @discardableResult
    func reload() async -> Bool {
        // systemd hears RELOADING=1 (with MONOTONIC_USEC) now and READY=1 when the new configuration
        // is in force or refused. Before intake has started, READY=1 has not been sent yet and must
        // not be sent early: the reload is then silent.
        let announce = intake.lastHeartbeat != nil
        if announce { notifier.reloading() }
        defer { if announce { notifier.ready(status: "Configuration generation \(live.current.generation) in force.") } }
        // Deliveries an operator requeued (referral-router requeue) are picked up whatever happens next.
        await delivery.resumePending()
        let configuration: RouterConfiguration
        let secrets: ResolvedSecrets
        do {
            configuration = try RouterConfiguration.load(directory: directory, overrides: overrides)
            secrets = try ResolvedSecrets.resolve(configuration, environment: environment)
        } catch {
            for problem in error.problems {
                logger.error("Reload refused; the previous configuration stays in force: \(problem)", metadata: [LogKey.code: "reload_refused"])
            }
            return false
        }
        let snapshot = live.replace(with: configuration, secrets: secrets)
        delivery.reconfigure(configuration, secrets: secrets)
        receipts.updateAgencies(configuration.agencies)
        intake.configurationChanged()
        do {
            try await store.appendAudit([Daemon.configurationEvent(configuration, generation: snapshot.generation)])
        } catch {
            logger.warning("Reload could not be audited.", metadata: [LogKey.code: .string(error.code)])
        }
        logger.notice("Configuration reloaded.", metadata: ["generation": .stringConvertible(snapshot.generation), LogKey.code: "reloaded"])
        return true
    }
}
