import Foundation
import JSONSchema
import LinuxSystem
import Logging
import ServiceLifecycle

/// Builds the pipeline and runs it until SIGTERM/SIGINT (or a fatal error).
///
/// Services start in stage order and stop in reverse, so intake stops first, delivery drains its
/// in-flight transfers up to `shutdown_drain_seconds`, and receipts are flushed last.
public enum Daemon {
    /// Process exit codes (sysexits.h), so systemd can tell a broken configuration from a crash.
    public enum ExitCode: Int32 {
        case success = 0
        case software = 70
        case ioError = 74
        case configuration = 78
    }

    public static func run(configDirectory: String, overrides: ConfigurationOverrides,
                           environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) async -> ExitCode {
        _ = umask(0o077)   // files 0600, directories 0700 unless shared on purpose
        let notifier = ServiceNotifier(environment: environment)
        let configuration: RouterConfiguration
        let secrets: ResolvedSecrets
        do {
            configuration = try RouterConfiguration.load(directory: configDirectory, overrides: overrides)
            secrets = try ResolvedSecrets.resolve(configuration, environment: environment)
        } catch {
            logger.critical("Configuration refused; the router did not start.", metadata: [LogKey.code: "configuration"])
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            return .configuration
        }

        let store: SQLiteReferralStore
        let checkpointer: WALCheckpointer
        do {
            try FileSystem.createDirectory(configuration.stateDirectory, mode: 0o700)
            try FileSystem.createDirectory(configuration.spoolDirectory, mode: 0o755)
            store = try SQLiteReferralStore(path: configuration.databasePath,
                                            auditKey: configuration.audit.hmacKey.flatMap { secrets.bytes($0) }, checkpointsElsewhere: true,
                                            writerCacheKiB: configuration.writerCacheKiB, readerCacheKiB: configuration.readerCacheKiB)
            checkpointer = try WALCheckpointer(store: store, interval: configuration.walCheckpointInterval, logger: logger)
            try await store.appendAudit([configurationEvent(configuration, generation: 1)])
        } catch {
            logger.critical("The state directory or database cannot be used.", metadata: [LogKey.code: .string("\(error)")])
            return .ioError
        }

        let live = LiveConfiguration(configuration: configuration, secrets: secrets)
        let fatal = FatalErrorLatch()
        let receipts = ReceiptWriter(store: store, agencies: configuration.agencies, enabled: configuration.receipts.enabled,
                                     logger: logger, coalesce: configuration.receipts.coalesce, onFatal: { fatal.raise($0) })
        let delivery: DeliveryService
        do {
            delivery = try DeliveryService(configuration: configuration, secrets: secrets, store: store, receipts: receipts,
                                           logger: logger, onFatal: { fatal.raise($0) })
        } catch {
            // Only libcurl failing to start can land here: not a configuration problem.
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            return .software
        }
        let intake = FolderIntake(live: live, store: store, delivery: delivery, receipts: receipts, logger: logger,
                                  onReady: {
                                      notifier.ready(status: "Watching \(configuration.agencies.count) inbound folders.")
                                      logger.notice("Referral router started.", metadata: [
                                          "agencies": .stringConvertible(configuration.agencies.count),
                                          "destinations": .stringConvertible(configuration.destinations.count),
                                          LogKey.code: "started",
                                      ])
                                  },
                                  onFatal: { fatal.raise($0) })
        let meshIntake: MESHIntake
        do {
            meshIntake = try MESHIntake(live: live, store: store, delivery: delivery, receipts: receipts, environment: environment,
                                        logger: logger, onFatal: { fatal.raise($0) })
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            return .configuration
        }
        let reporter = StatusReporter(live: live, store: store, delivery: delivery, intake: intake, receipts: receipts,
                                      notifier: notifier, logger: logger)
        let reloader = ConfigurationReloader(directory: configDirectory, overrides: overrides, environment: environment, live: live,
                                             store: store, delivery: delivery, intake: intake, receipts: receipts,
                                             notifier: notifier, logger: logger)

        func stage(_ service: any Service, _ name: String) -> ServiceGroupConfiguration.ServiceConfiguration {
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                  failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name)
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                stage(fatal, "fatal-error-latch"),
                stage(checkpointer, "wal-checkpoint"),
                stage(receipts, "receipts"),
                stage(delivery, "delivery"),
                stage(reporter, "status"),
                stage(reloader, "reload"),
                stage(meshIntake, "mesh-intake"),
                stage(intake, "intake"),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownDrain + .seconds(5)
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            if fatal.raised == nil {
                logger.critical("The router stopped on an error.", metadata: [LogKey.code: .string(LogSafeError.describe(error))])
                return .software
            }
        }
        if let error = fatal.raised {
            logger.critical("The router stopped to protect referrals after a fatal error; nothing further was taken in.",
                            metadata: [LogKey.code: .string(LogSafeError.describe(error))])
            return .ioError
        }
        logger.notice("Referral router stopped.", metadata: [LogKey.code: "stopped"])
        return .success
    }

    /// The audit record of a configuration coming into force: a fingerprint of every file it came from.
    static func configurationEvent(_ configuration: RouterConfiguration, generation: Int) -> AuditEvent {
        var files: [JSONValue] = []
        for path in [configuration.directory + "/" + RouterConfiguration.fileName, configuration.schemaFile] + configuration.routeFiles {
            let bytes = FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? []
            files.append(["file": .string(path), "sha256": .string(Digest.hex(Digest.sha256(bytes)))])
        }
        return AuditEvent(kind: .configurationLoaded, at: .now(), outcome: "generation-\(generation)",
                          detail: ["files": .array(files), "schemaId": configuration.schema.id.map(JSONValue.string) ?? .null])
    }
}
