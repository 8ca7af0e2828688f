import Curl
import Logging
import ServiceLifecycle
import Synchronization

/// The intake stage for NHS MESH mailboxes (issue 8): one `MESHMailboxPoller` per agency with an
/// `[agency.mesh]` table, and one for reports only per MESH destination sending mailbox that no
/// agency drains, each on its own task over this stage's own libcurl client, so a slow or broken
/// mailbox never holds up folder intake, delivery or another mailbox. After a reload the pollers
/// of changed or removed mailboxes (settings or secrets) finish the message in hand and stop; new
/// ones start.
///
/// Distrusts: every MESH answer (listings, headers, bodies, reports), like inbound files.
/// Privilege: outbound HTTPS to the configured MESH servers only.
/// Logs: polls, message ids, referral ids, codes; never subjects, file names or content.
/// Knobs: `[agency.mesh]` in router.toml (docs/configuration.md).
public final class MESHIntake: Service, Sendable {
    /// Test-only fault hook, documented in docs/operations.md: with `1`, the router SIGKILLs itself
    /// after committing a MESH message and before acknowledging it.
    public static let crashBeforeAcknowledgementVariable = "REFERRAL_ROUTER_TEST_CRASH_BEFORE_MESH_ACK"
    /// On shutdown, how long a poller may take to finish the message in hand.
    static let shutdownGrace: Duration = .seconds(3)

    private let live: LiveConfiguration
    private let store: any ReferralStore
    private let delivery: DeliveryService
    private let receipts: ReceiptWriter
    private let logger: Logger
    private let onFatal: @Sendable (any Error) -> Void
    private let client: HTTPClient
    private let crashBeforeAcknowledgement: Bool
    private let wake = WakeSignal()
    private let state: Mutex<State>

    private struct State {
        var stopping = false
        var pollers: [MESHMailboxPoller.Owner: Running] = [:]
    }

    private struct Running {
        var configuration: MESHMailboxConfiguration
        var credentials: MESHMailboxCredentials
        var poller: MESHMailboxPoller
        var task: Task<Void, Never>
    }

    /// Mailbox secrets come from the live configuration, whose secrets were all read before it took force.
    public init(live: LiveConfiguration, store: any ReferralStore, delivery: DeliveryService, receipts: ReceiptWriter,
                environment: [String: String], logger: Logger, onFatal: @escaping @Sendable (any Error) -> Void) throws(ConfigurationError) {
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.maxConnectionsPerHost = 4
        clientConfiguration.maxTotalConnections = 16
        do {
            client = try HTTPClient(configuration: clientConfiguration)
        } catch {
            throw ConfigurationError(problems: [ConfigurationProblem(file: "libcurl", line: nil, key: "", message: "cannot start the MESH client: \(error)")])
        }
        self.live = live
        self.store = store
        self.delivery = delivery
        self.receipts = receipts
        self.logger = logger
        self.onFatal = onFatal
        self.crashBeforeAcknowledgement = environment[Self.crashBeforeAcknowledgementVariable] == "1"
        state = Mutex(State())
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !state.withLock({ $0.stopping }) {
                reconcile()
                // Reloads are noticed within a second (the reloader swaps the live configuration).
                await wake.wait(timeout: .seconds(1))
            }
        } onGracefulShutdown: {
            self.state.withLock { $0.stopping = true }
            self.wake.signal()
        }
        let running = state.withLock { state -> [Running] in
            let running = Array(state.pollers.values)
            state.pollers = [:]
            return running
        }
        // Each poller finishes the message in hand; one still waiting on a slow or hung mailbox
        // after the grace period is cancelled (an unfinished download commits nothing).
        running.forEach { $0.poller.stop() }
        let tasks = running.map(\.task)
        let deadline = Task {
            try? await Task.sleep(for: Self.shutdownGrace)
            tasks.forEach { $0.cancel() }
        }
        for task in tasks {
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
        }
        deadline.cancel()
        client.shutdown()
    }

    /// Starts, restarts and stops pollers to match the configuration in force.
    private func reconcile() {
        let snapshot = live.current
        let wanted = Self.mailboxes(snapshot)
        let defaults = snapshot.configuration.deliveryDefaults
        state.withLock { state in
            for (key, running) in state.pollers where wanted[key].map({ $0.configuration != running.configuration || $0.credentials != running.credentials }) ?? true {
                // Removed or changed: finish the message in hand, stop.
                running.poller.stop()
                state.pollers[key] = nil
                logger.notice("MESH mailbox poller stopped for a configuration change.",
                              metadata: ["mesh_mailbox": .string(running.configuration.mailbox), LogKey.code: "mesh_reconfigured"])
                if let mailbox = wanted[key] {
                    state.pollers[key] = start(mailbox, defaults: defaults, after: running.task)
                }
            }
            for (key, mailbox) in wanted where state.pollers[key] == nil {
                state.pollers[key] = start(mailbox, defaults: defaults, after: nil)
            }
        }
    }

    /// One mailbox to poll: whose, its settings and its secrets.
    struct Mailbox: Sendable {
        var owner: MESHMailboxPoller.Owner
        var configuration: MESHMailboxConfiguration
        var credentials: MESHMailboxCredentials
    }

    /// Every agency mailbox, and, for reports, every MESH destination's
    /// sending mailbox that no agency drains (once per server and mailbox), polled at the MESH rate.
    static func mailboxes(_ snapshot: LiveConfiguration.Snapshot) -> [MESHMailboxPoller.Owner: Mailbox] {
        var result: [MESHMailboxPoller.Owner: Mailbox] = [:]
        var drained: Set<String> = []
        func key(_ url: String, _ mailbox: String) -> String {
            (url.hasSuffix("/") ? String(url.dropLast()) : url).lowercased() + " " + mailbox.uppercased()
        }
        for agency in snapshot.configuration.agencies {
            guard let mesh = agency.mesh else { continue }
            drained.insert(key(mesh.baseURL, mesh.mailbox))
            guard let credentials = MESHMailboxCredentials(password: mesh.password, sharedKey: mesh.sharedKey,
                                                           clientKeyPassphrase: mesh.tls.clientKeyPassphrase, in: snapshot.secrets) else { continue }
            result[.agency(agency.id)] = Mailbox(owner: .agency(agency.id), configuration: mesh, credentials: credentials)
        }
        for destination in snapshot.configuration.destinations {
            guard case .mesh(let endpoint) = destination.transport, drained.insert(key(endpoint.baseURL, endpoint.mailbox)).inserted,
                  let credentials = MESHMailboxCredentials(password: endpoint.password, sharedKey: endpoint.sharedKey,
                                                           clientKeyPassphrase: endpoint.tls.clientKeyPassphrase, in: snapshot.secrets) else { continue }
            let configuration = MESHMailboxConfiguration(
                baseURL: endpoint.baseURL, mailbox: endpoint.mailbox.uppercased(), password: endpoint.password, sharedKey: endpoint.sharedKey,
                tls: endpoint.tls, acceptedWorkflowIDs: [], unacceptedWorkflow: .leave, receipts: .folder)
            result[.destination(destination.id)] = Mailbox(owner: .destination(destination.id), configuration: configuration, credentials: credentials)
        }
        return result
    }

    /// A poller's task; a replacement waits for its predecessor, so one mailbox is never drained twice at once.
    private func start(_ mailbox: Mailbox, defaults: DeliverySettings, after previous: Task<Void, Never>?) -> Running {
        let configuration = mailbox.configuration
        let mesh = MESHClient(baseURL: configuration.baseURL, mailbox: configuration.mailbox, password: mailbox.credentials.password,
                              sharedKey: mailbox.credentials.sharedKey, tls: mailbox.credentials.tls(configuration.tls),
                              limits: TransferLimits(defaults), client: client)
        let poller = MESHMailboxPoller(owner: mailbox.owner, mailbox: configuration, client: mesh, live: live, store: store, delivery: delivery,
                                       receipts: receipts, logger: logger, crashBeforeAcknowledgement: crashBeforeAcknowledgement, onFatal: onFatal)
        let task = Task {
            await previous?.value
            await poller.run()
        }
        var metadata: Logger.Metadata = [
            "mesh_mailbox": .string(configuration.mailbox), LogKey.code: "mesh_started",
            "poll_interval_seconds": .stringConvertible(Int(configuration.pollInterval.seconds)),
        ]
        switch mailbox.owner {
        case .agency(let id): metadata[LogKey.agency] = .string(id)
        case .destination(let id): metadata[LogKey.destination] = .string(id)
        }
        switch mailbox.owner {
        case .agency: logger.info("MESH mailbox poller started.", metadata: metadata)
        case .destination: logger.info("MESH mailbox poller started for reports only.", metadata: metadata)
        }
        return Running(configuration: configuration, credentials: mailbox.credentials, poller: poller, task: task)
    }
}
