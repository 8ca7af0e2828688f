import Foundation
import LinuxSystem
import Logging
import ServiceLifecycle
import Synchronization

/// What the daemon is doing right now, for `referral-router status`, metrics and systemd.
public struct RuntimeStatus: Codable, Sendable {
    public var pid: Int32
    public var startedAt: Timestamp
    public var updatedAt: Timestamp
    public var configurationGeneration: Int
    public var intakePaused: String?
    /// Files seen and not yet taken. A lower bound while `intakeMoreWaiting`.
    public var intakeBacklog: Int
    /// More files wait in the inbound folders than intake holds in memory (`max_waiting_files`).
    /// Optional so that a status.json written before this field still reads.
    public var intakeMoreWaiting: Bool?
    public var receiptsBacklog: Int
    public var transfersInFlight: Int
    public var destinations: [DestinationSnapshot]
    public var store: StoreStatus
    public var alerts: [String]
}

/// Every few seconds: writes `status.json` and the metrics file (node_exporter textfile format) in the
/// state directory, sends systemd a one-line STATUS, and pings the watchdog while healthy.
///
/// Healthy means all of: this loop ran (it is the one that pings, every min(WatchdogSec/2, 2 s));
/// the store answered `status()` in this round; and the intake loop went round within
/// `intakeStallLimit` (or has not started yet: systemd's TimeoutStartSec= bounds start-up). When
/// any fails the pings stop, so systemd's WatchdogSec= later restarts a hung daemon.
final class StatusReporter: Service, Sendable {
    static let statusFile = "status.json"

    private let live: LiveConfiguration
    private let store: any ReferralStore
    private let delivery: DeliveryService
    private let intake: FolderIntake
    private let receipts: ReceiptWriter
    private let notifier: ServiceNotifier
    private let logger: Logger
    private let startedAt = Timestamp.now()
    private let interval: Duration
    /// True while pings are withheld, so the change is logged once each way.
    private let withholding = Mutex(false)
    private let immediateAlerted = Mutex<[String: ContinuousClock.Instant]>([:])
    /// The last store counts and when they were read, and when the files were last written: when
    /// idle the reporter reads and writes nothing but still pings the watchdog.
    private let cache = Mutex<(changes: Int, status: StoreStatus, readAt: ContinuousClock.Instant, writtenAt: ContinuousClock.Instant)?>(nil)
    /// Status files are rewritten at least this often (`status` calls them fresh for 15 s).
    static let filesRefresh: Duration = .seconds(10)
    /// Store counts are re-read at least this often even when nothing changed (for ages).
    static let storeRefresh: Duration = .seconds(60)

    /// Beyond an idle wait (`rescan_interval_seconds`) or a paused one (`pause_retry_seconds`), the
    /// time one batch may take before a silent intake loop counts as hung.
    static let batchAllowance: Duration = .seconds(60)

    init(live: LiveConfiguration, store: any ReferralStore, delivery: DeliveryService, intake: FolderIntake, receipts: ReceiptWriter,
         notifier: ServiceNotifier, logger: Logger, interval: Duration = .seconds(2)) {
        self.live = live
        self.store = store
        self.delivery = delivery
        self.intake = intake
        self.receipts = receipts
        self.notifier = notifier
        self.logger = logger
        self.interval = notifier.watchdogInterval.map { min($0 / 2, .seconds(2)) } ?? interval
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                await report()
                try? await Task.sleep(for: interval)
            }
        } onGracefulShutdown: { [notifier] in
            notifier.stopping()
        }
    }

    private func report() async {
        let snapshot = live.current
        let now = ContinuousClock.now
        let changes = self.store.changeCount
        let cached = cache.withLock { $0 }
        let unchanged = cached.map { $0.changes == changes && now - $0.readAt < Self.storeRefresh } ?? false
        let store: StoreStatus
        if unchanged, let cached {
            store = cached.status
        } else {
            do {
                store = try await self.store.status()
            } catch {
                logger.warning("Status could not be read from the store.", metadata: [LogKey.code: .string(error.code)])
                return   // no watchdog ping: the store is not answering
            }
        }
        let destinations = await delivery.snapshots()
        var alerts: [String] = []
        if let paused = intake.pausedReason { alerts.append("intake paused: \(paused)") }
        for destination in destinations where destination.breakerOpen {
            alerts.append("destination \(destination.destination) paused after \(destination.consecutiveFailures) failures")
        }
        for destination in destinations where destination.certificateExpiresSoon {
            alerts.append("destination \(destination.destination) certificate expires at \(destination.certificateNotAfter?.rfc3339 ?? "soon")")
        }
        if store.dead > 0 { alerts.append("\(store.dead) dead-lettered deliveries need an operator") }
        alerts += immediateAlerts(store, settings: snapshot.configuration.alerts)
        let status = RuntimeStatus(
            pid: CurrentProcess.pid, startedAt: startedAt, updatedAt: .now(), configurationGeneration: snapshot.generation,
            intakePaused: intake.pausedReason, intakeBacklog: intake.backlog, intakeMoreWaiting: intake.moreWaiting,
            receiptsBacklog: receipts.backlog,
            transfersInFlight: delivery.transfersInFlight, destinations: destinations, store: store, alerts: alerts)
        let directory = snapshot.configuration.stateDirectory
        let busy = status.transfersInFlight > 0 || status.intakeBacklog > 0 || status.receiptsBacklog > 0
        let writeFiles = !unchanged || busy || cached.map { now - $0.writtenAt >= Self.filesRefresh } ?? true
        if writeFiles {
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try FileSystem.writeFileAtomically(Array(try encoder.encode(status)), to: directory + "/" + Self.statusFile, syncDirectory: false)
                try FileSystem.writeFileAtomically(Array(Metrics.render(status).utf8), to: snapshot.configuration.metricsFile, mode: 0o644, syncDirectory: false)
            } catch {
                logger.warning("Status file could not be written.", metadata: [LogKey.code: .string("\(error)")])
            }
        }
        cache.withLock { entry in
            entry = (changes, store, unchanged ? (entry?.readAt ?? now) : now, writeFiles ? now : (entry?.writtenAt ?? now))
        }
        let open = destinations.filter(\.breakerOpen).count
        notifier.status("pending \(store.pending), in flight \(status.transfersInFlight), dead letters \(store.dead), open breakers \(open)\(status.intakePaused.map { _ in ", intake paused" } ?? "")")
        let stalled = Self.intakeStall(lastHeartbeat: intake.lastHeartbeat, now: .now, settings: snapshot.configuration.intake)
        let wasWithholding = withholding.withLock { withholding in
            defer { withholding = stalled != nil }
            return withholding
        }
        if let stalled {
            if !wasWithholding {
                logger.record(.alert(code: "watchdog_withheld", destination: nil,
                                     message: "The intake loop has not run for \(stalled.components.seconds) s; watchdog pings are withheld and systemd will restart the router if it does not recover."))
            }
            return
        }
        if wasWithholding {
            logger.notice("The intake loop runs again; watchdog pings resumed.", metadata: [LogKey.code: "watchdog_resumed"])
        }
        notifier.watchdog()
    }

    /// How long the intake loop has been silent, if longer than its longest wait plus one batch
    /// allows; nil while it is healthy or has not started yet.
    /// An immediate referral waiting too long at a destination: in `alerts` while it lasts, and in
    /// the journal once per `repeat_seconds` per destination.
    private func immediateAlerts(_ store: StoreStatus, settings: AlertSettings) -> [String] {
        let now = Timestamp.now()
        var alerts: [String] = []
        for destination in store.destinations {
            guard let oldest = destination.oldestImmediatePendingAt else { continue }
            let waited = now.millisecondsSinceEpoch - oldest.millisecondsSinceEpoch
            guard waited >= Int64(settings.immediateUndelivered.seconds * 1000) else { continue }
            let message = "\(destination.pendingImmediate) immediate referral(s) undelivered to \(destination.destination), the oldest for \(waited / 1000) s"
            alerts.append(message)
            let due = immediateAlerted.withLock { last -> Bool in
                if let previous = last[destination.destination], ContinuousClock.now - previous < settings.repeatInterval { return false }
                last[destination.destination] = .now
                return true
            }
            if due {
                logger.record(.alert(code: "immediate_undelivered", destination: destination.destination, message: message + "."))
            }
        }
        return alerts
    }

    static func intakeStall(lastHeartbeat: ContinuousClock.Instant?, now: ContinuousClock.Instant, settings: IntakeSettings) -> Duration? {
        guard let lastHeartbeat else { return nil }
        let limit = intakeStallLimit(settings)
        let silent = now - lastHeartbeat
        return silent > limit ? silent : nil
    }

    /// max(rescan interval, pause retry interval) + `batchAllowance`.
    static func intakeStallLimit(_ settings: IntakeSettings) -> Duration {
        max(settings.rescanInterval, settings.pauseRetryInterval) + batchAllowance
    }
}

/// Prometheus text exposition of the status (counters and gauges; names prefixed `referral_router_`).
enum Metrics {
    static func render(_ status: RuntimeStatus) -> String {
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Int)]) {
            lines.append("# HELP referral_router_\(name) \(help)")
            lines.append("# TYPE referral_router_\(name) \(type)")
            for sample in samples {
                lines.append("referral_router_\(name)\(sample.labels.isEmpty ? "" : "{\(sample.labels)}") \(sample.value)")
            }
        }
        metric("referrals_total", "counter", "Referrals committed, by receipt code.",
               status.store.byReceipt.sorted { $0.key < $1.key }.map { ("receipt=\"\($0.key)\"", $0.value) })
        metric("duplicates_total", "counter", "Duplicate referrals recorded and not queued.", [("", status.store.duplicates)])
        metric("deliveries_pending", "gauge", "Deliveries waiting, by destination.", status.store.destinations.map { ("destination=\"\($0.destination)\"", $0.pending) })
        metric("deliveries_pending_immediate", "gauge", "Immediate deliveries waiting, by destination.", status.store.destinations.map { ("destination=\"\($0.destination)\"", $0.pendingImmediate) })
        metric("deliveries_delivered_total", "counter", "Deliveries made, by destination.", status.store.destinations.map { ("destination=\"\($0.destination)\"", $0.delivered) })
        metric("deliveries_dead", "gauge", "Deliveries dead-lettered and not requeued, by destination.", status.store.destinations.map { ("destination=\"\($0.destination)\"", $0.dead) })
        metric("oldest_pending_age_seconds", "gauge", "Age of the oldest waiting delivery, by destination.", status.store.destinations.map { destination in
            let age = destination.oldestPendingAt.map { Int((status.updatedAt.millisecondsSinceEpoch - $0.millisecondsSinceEpoch) / 1000) } ?? 0
            return ("destination=\"\(destination.destination)\"", age)
        })
        metric("breaker_open", "gauge", "1 while a destination is paused by its circuit breaker.", status.destinations.map { ("destination=\"\($0.destination)\"", $0.breakerOpen ? 1 : 0) })
        metric("transfers_in_flight", "gauge", "HTTPS transfers in flight.", [("", status.transfersInFlight)])
        metric("intake_paused", "gauge", "1 while intake is paused (disk space, store).", [("", status.intakePaused == nil ? 0 : 1)])
        metric("intake_backlog", "gauge", "Inbound files seen and not yet taken (a lower bound while intake_more_waiting is 1).", [("", status.intakeBacklog)])
        metric("intake_more_waiting", "gauge", "1 while more files wait in the inbound folders than intake holds in memory (max_waiting_files).",
               [("", status.intakeMoreWaiting == true ? 1 : 0)])
        metric("audit_events_total", "counter", "Events in the audit chain.", [("", status.store.auditEvents)])
        return lines.joined(separator: "\n") + "\n"
    }
}
