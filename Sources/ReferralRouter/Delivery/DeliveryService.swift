import Curl
import Logging
import ServiceLifecycle
import Synchronization

/// The delivery stage: one `DestinationWorker` per destination over one shared libcurl client (so
/// connections, TLS sessions and the CA store are reused). At start it resumes every pending
/// delivery from the store; intake hands it new ones as they commit.
///
/// Distrusts: partners' answers (status, headers and bodies are classified, excerpts sanitised).
/// Privilege: outbound HTTPS only. Logs: delivered, retry, dead-lettered, alerts (ids and codes only).
/// Knobs: `[delivery]` and per-destination overrides (docs/configuration.md).
public final class DeliveryService: Service, Sendable {
    private let store: any ReferralStore
    private let receipts: ReceiptWriter
    private let client: HTTPClient
    private let logger: Logger
    private let storeCalls: DeliveryStoreCalls
    private let workers = Mutex<[String: DestinationWorker]>([:])
    private let newWorkers: AsyncStream<DestinationWorker>
    private let newWorkersContinuation: AsyncStream<DestinationWorker>.Continuation
    private let onFatal: @Sendable (StoreError) -> Void
    /// Set when `run` starts reading the pending deliveries. A worker made after that (a reload adding
    /// a destination) reads its own: any queued for it at start found no worker and were left in the store.
    private let pendingRead = Mutex(false)
    private let drainDeadline: Duration

    public init(configuration: RouterConfiguration, secrets: ResolvedSecrets, store: any ReferralStore, receipts: ReceiptWriter,
                logger: Logger, onFatal: @escaping @Sendable (StoreError) -> Void) throws(ConfigurationError) {
        self.store = store
        self.receipts = receipts
        self.logger = logger
        self.onFatal = onFatal
        self.drainDeadline = configuration.shutdownDrain
        // Each worker enforces its destination's max_in_flight; curl's limits are only a backstop. A
        // per-host limit below the total would make destinations behind one gateway (same host and
        // port) queue behind each other's hanging transfers, and the client outlives reloads that add
        // destinations or raise their limits: so one generous figure for both.
        var clientConfiguration = HTTPClient.Configuration()
        let inFlight = configuration.destinations.reduce(0) { $0 + $1.delivery.maxInFlight }
        clientConfiguration.maxTotalConnections = max(inFlight * 2, 256)
        clientConfiguration.maxConnectionsPerHost = clientConfiguration.maxTotalConnections
        do {
            client = try HTTPClient(configuration: clientConfiguration)
        } catch {
            throw ConfigurationError(problems: [ConfigurationProblem(file: "libcurl", line: nil, key: "", message: "cannot start the HTTPS client: \(error)")])
        }
        storeCalls = DeliveryStoreCalls(store: store)
        (newWorkers, newWorkersContinuation) = AsyncStream.makeStream()
        reconfigure(configuration, secrets: secrets)
    }

    /// Applies a (re)loaded configuration: new destinations get workers, existing ones new settings.
    /// Queued deliveries keep their payloads; a destination removed from the configuration keeps its
    /// previous settings until its queue is empty.
    public func reconfigure(_ configuration: RouterConfiguration, secrets: ResolvedSecrets) {
        for destination in configuration.destinations {
            let transport: any DeliveryTransport
            switch destination.transport {
            case .https(let endpoint):
                transport = HTTPSTransport(endpoint: endpoint, settings: destination.delivery, client: client, secrets: secrets)
            case .mesh(let endpoint):
                transport = MESHTransport(endpoint: endpoint, settings: destination.delivery, client: client, secrets: secrets)
            }
            let existing = workers.withLock { $0[destination.id] }
            if let existing {
                Task { await existing.update(settings: destination.delivery, transport: transport) }
            } else {
                let worker = DestinationWorker(destination: destination.id, settings: destination.delivery, transport: transport,
                                               store: store, storeCalls: storeCalls, receipts: receipts, logger: logger, onFatal: onFatal)
                workers.withLock { $0[destination.id] = worker }
                newWorkersContinuation.yield(worker)
                if pendingRead.withLock({ $0 }) { resumePending(of: destination.id, into: worker) }
            }
        }
    }

    /// Hands newly committed deliveries to their workers.
    public func enqueue(_ deliveries: [ScheduledDelivery]) {
        let byDestination = Dictionary(grouping: deliveries, by: \.destination)
        for (destination, group) in byDestination {
            guard let worker = workers.withLock({ $0[destination] }) else {
                logger.record(.alert(code: "unknown_destination", destination: destination,
                                     message: "\(group.count) deliveries are queued for a destination that is not configured; they wait until it is."))
                continue
            }
            Task { await worker.enqueue(group) }
        }
    }

    /// Hands a new destination's pending deliveries (from before a reload added it) to its worker.
    private func resumePending(of destination: String, into worker: DestinationWorker) {
        Task { [store, logger, onFatal] in
            do throws(StoreError) {
                let pending = try await store.pendingDeliveries().filter { $0.destination == destination }
                guard !pending.isEmpty else { return }
                await worker.enqueue(pending)
                logger.info("Resumed pending deliveries.", metadata: [LogKey.count: .stringConvertible(pending.count), LogKey.stage: "delivery",
                                                                     LogKey.destination: .string(destination)])
            } catch {
                // They stay in the store; the next start resumes them.
                if !error.isTransient { onFatal(error) }
                logger.warning("Pending deliveries of a destination added by a reload could not be read.",
                               metadata: [LogKey.code: .string(error.code), LogKey.destination: .string(destination)])
            }
        }
    }

    /// Hands every pending delivery in the store to its worker (already queued ones are ignored):
    /// picks up deliveries an operator requeued while the daemon ran.
    public func resumePending() async {
        do {
            enqueue(try await store.pendingDeliveries())
        } catch {
            logger.warning("Pending deliveries could not be read.", metadata: [LogKey.code: .string(error.code)])
        }
    }

    public var transfersInFlight: Int { client.transfersInFlight }

    public func snapshots() async -> [DestinationSnapshot] {
        var result: [DestinationSnapshot] = []
        for worker in workers.withLock({ Array($0.values) }) {
            result.append(await worker.snapshot)
        }
        return result.sorted { $0.destination < $1.destination }
    }

    public func run() async throws {
        // Before reading, so a reload adding a destination meanwhile reads for itself (duplicates are ignored).
        pendingRead.withLock { $0 = true }
        do {
            let pending = try await store.pendingDeliveries()
            enqueue(pending)
            if !pending.isEmpty {
                logger.info("Resumed pending deliveries.", metadata: [LogKey.count: .stringConvertible(pending.count), LogKey.stage: "delivery"])
            }
        } catch {
            onFatal(error)
            throw error
        }
        let running = Task { [newWorkers] in
            await withDiscardingTaskGroup { group in
                for await worker in newWorkers {
                    group.addTask { await worker.run() }
                }
            }
        }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await running.value
            } onGracefulShutdown: { [newWorkersContinuation, drainDeadline] in
                // Stop starting transfers; those in flight get `shutdown_drain_seconds`, then are
                // aborted and stay queued for the next start.
                newWorkersContinuation.finish()
                for worker in self.workers.withLock({ Array($0.values) }) {
                    Task { await worker.stop() }
                }
                Task {
                    try? await Task.sleep(for: drainDeadline)
                    running.cancel()
                }
            }
        } onCancel: {
            running.cancel()
        }
        client.shutdown()
    }
}
