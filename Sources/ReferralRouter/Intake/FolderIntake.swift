import JSONSchema
import LinuxSystem
import Logging
import ServiceLifecycle
import Synchronization

/// The intake stage for folders. Watches every agency's inbound folder with inotify
/// (`IN_CLOSE_WRITE`, `IN_MOVED_TO`), scans them all at start, after an inotify overflow and every
/// `rescan_interval_seconds`, and takes files in batches: read (never following links), validate,
/// route, commit in one durable transaction, and only then remove the source (or move it, with its
/// error report, to `rejected/<agency>/`).
///
/// Distrusts: every inbound entry (links, FIFOs, directories, oversized and malformed files).
/// Privilege: read/write in the inbound and rejected folders; nothing else of the agencies'.
/// Logs: referral ids, agencies, outcomes; never file contents (nor file names, which may hold names).
/// Knobs: `[intake]` in router.toml.
public final class FolderIntake: Service, Sendable {
    private let live: LiveConfiguration
    private let store: any ReferralStore
    private let delivery: DeliveryService
    private let receipts: ReceiptWriter
    private let logger: Logger
    private let onFatal: @Sendable (any Error) -> Void
    private let onReady: @Sendable () -> Void
    private let candidates = Mutex(CandidateQueue())
    private let inProgress = Mutex<Set<String>>([])
    private let settler: SourceSettler
    private let wake: WakeSignal
    private let state = Mutex(IntakeState())

    struct Candidate: Hashable, Sendable {
        var agency: String
        var directory: String
        var name: String
    }

    /// Arrival-ordered, duplicate-free.
    struct CandidateQueue: Sendable {
        private var order: [Candidate] = []
        private var head = 0
        private var members: Set<Candidate> = []
        var count: Int { members.count }

        @discardableResult
        mutating func add(_ candidate: Candidate) -> Bool {
            guard members.insert(candidate).inserted else { return false }
            order.append(candidate)
            return true
        }

        func contains(_ candidate: Candidate) -> Bool { members.contains(candidate) }

        mutating func take(_ limit: Int) -> [Candidate] {
            let end = min(head + limit, order.count)
            let taken = Array(order[head..<end])
            head = end
            if head > 4096, head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
            members.subtract(taken)
            return taken
        }
    }

    struct IntakeState: Sendable {
        var rescanRequested = true
        var rewatchRequested = false
        var paused: String?
        var lastScan: ContinuousClock.Instant?
        /// Files are waiting beyond those held in memory (`max_waiting_files`): list again when these run low.
        var moreWaiting = false
    }

    public init(live: LiveConfiguration, store: any ReferralStore, delivery: DeliveryService, receipts: ReceiptWriter,
                logger: Logger, onReady: @escaping @Sendable () -> Void = {}, onFatal: @escaping @Sendable (any Error) -> Void) {
        self.live = live
        self.store = store
        self.delivery = delivery
        self.receipts = receipts
        var logger = logger
        logger[metadataKey: LogKey.stage] = "intake"
        self.logger = logger
        self.onReady = onReady
        self.onFatal = onFatal
        let candidates = Candidates()
        let wake = WakeSignal()
        self.wake = wake
        self.replacedSources = candidates
        self.settler = SourceSettler(logger: logger, onFatal: onFatal, onReplaced: { fate in
            candidates.add(fate)
            wake.signal()
        })
    }

    /// Sources replaced under the same name while their predecessor was being settled: taken next.
    private let replacedSources: Candidates

    final class Candidates: Sendable {
        private let fates = Mutex<[SourceFate]>([])
        func add(_ fate: SourceFate) { fates.withLock { $0.append(fate) } }
        func take() -> [SourceFate] { fates.withLock { list in defer { list.removeAll() }; return list } }
    }

    /// After a reload: watch the (possibly changed) folders and rescan.
    public func configurationChanged() {
        state.withLock { $0.rewatchRequested = true; $0.rescanRequested = true }
        wake.signal()
    }

    /// Why intake is paused (disk space, a store problem), or nil.
    public var pausedReason: String? { state.withLock { $0.paused } }
    public var backlog: Int { candidates.withLock { $0.count } }
    /// More files wait in the folders than are held in memory: `backlog` is then a lower bound.
    public var moreWaiting: Bool { state.withLock { $0.moreWaiting } }

    /// When the intake loop last went round (it does at least every `rescan_interval_seconds`, or
    /// `pause_retry_seconds` while paused, plus one batch); nil until it first runs, which is after
    /// `onReady`. The watchdog's sign that intake is alive (see StatusReporter).
    public var lastHeartbeat: ContinuousClock.Instant? { heartbeat.withLock { $0 } }
    private let heartbeat = Mutex<ContinuousClock.Instant?>(nil)

    public func run() async throws {
        // Reading and validating batches, and removing sources, run on threads of their own: they block
        // or compute for milliseconds, and on the cooperative pool every other stage would wait for them.
        let intakeThread = DedicatedThreadExecutor(name: "rr-intake")
        let settlerThread = DedicatedThreadExecutor(name: "rr-settle")
        let settling = Task(executorPreference: settlerThread) { [settler] in await settler.run() }
        defer {
            settling.cancel()
            settler.settleQueued()
            intakeThread.shutdown()
            Task { await settling.value; settlerThread.shutdown() }
        }
        try await withTaskExecutorPreference(intakeThread) { try await watchAndTake() }
    }

    /// Watches the folders and takes batches until shutdown, watching again after a reload.
    private func watchAndTake() async throws {
        var ready = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let folders = live.current.configuration.agencies
            try Self.prepareFolders(folders)
            // The watcher starts before the scan, so nothing dropped in between is missed; a file
            // seen by both is queued once.
            let watcher = try DirectoryWatcher(directories: folders.map(\.inboundDirectory))
            let byDirectory = Dictionary(folders.map { ($0.inboundDirectory, $0.id) }, uniquingKeysWith: { first, _ in first })
            let listener = Task {
                for await event in watcher.events {
                    self.handle(event, agencies: byDirectory)
                }
            }
            state.withLock { $0.rescanRequested = true; $0.rewatchRequested = false }
            if !ready {
                ready = true
                onReady()
            }
            await withGracefulShutdownHandler {
                await self.loop()
            } onGracefulShutdown: { [wake] in
                wake.signal()
            }
            watcher.stop()
            listener.cancel()
            if state.withLock({ !$0.rewatchRequested }) { break }
            logger.notice("Inbound folders are being watched again.", metadata: [LogKey.code: "rewatch"])
        }
    }

    private func handle(_ event: DirectoryWatcher.Event, agencies byDirectory: [String: String]) {
        switch event {
        case .fileReady(let directory, let name):
            guard let agency = byDirectory[directory], !isTaken(directory + "/" + name) else { return }
            let limit = live.current.configuration.intake.maxWaitingFiles
            let added = candidates.withLock { queue -> Bool in
                guard queue.count < limit else { return false }
                queue.add(Candidate(agency: agency, directory: directory, name: name))
                return true
            }
            if !added { state.withLock { $0.moreWaiting = true } }
        case .overflow:
            state.withLock { $0.rescanRequested = true }
        case .watchLost:
            state.withLock { $0.rewatchRequested = true; $0.rescanRequested = true }
        }
        wake.signal()
    }

    /// Takes batches until shutdown or until the folders must be watched again.
    private func loop() async {
        var committing: (task: Task<Bool, Never>, batch: [Candidate])?
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            heartbeat.withLock { $0 = .now }
            let configuration = live.current.configuration
            let settings = configuration.intake
            let (rescan, rewatch) = state.withLock { state -> (Bool, Bool) in
                let due = state.rescanRequested || state.lastScan.map { ContinuousClock.now - $0 >= settings.rescanInterval } ?? true
                    || (state.moreWaiting && candidates.withLock { $0.count } < settings.batchMaxFiles)
                return (due, state.rewatchRequested)
            }
            if rewatch { return }
            if rescan { scan() }
            let replaced = replacedSources.take()
            if !replaced.isEmpty {
                let agencyOfDirectory = Dictionary(configuration.agencies.map { ($0.inboundDirectory, $0.id) }, uniquingKeysWith: { first, _ in first })
                for fate in replaced {
                    guard let agency = agencyOfDirectory[fate.directory] else { continue }
                    _ = candidates.withLock { $0.add(Candidate(agency: agency, directory: fate.directory, name: fate.name)) }
                }
            }
            let batch = candidates.withLock { $0.take(settings.batchMaxFiles) }
            if batch.isEmpty {
                if let previous = committing {
                    await finish(previous, settings: settings)
                    committing = nil
                    continue
                }
                let nextScan = state.withLock { $0.lastScan.map { $0 + settings.rescanInterval - ContinuousClock.now } }
                await wake.wait(timeout: max(nextScan ?? settings.rescanInterval, .milliseconds(10)))
                continue
            }
            // Read and validate this batch while the previous one commits (on the store's writer).
            markInProgress(batch, true)
            guard let prepared = prepare(batch, settings: settings) else {
                markInProgress(batch, false)
                candidates.withLock { queue in batch.forEach { queue.add($0) } }
                try? await Task.sleep(for: settings.pauseRetryInterval)
                continue
            }
            if let previous = committing { await finish(previous, settings: settings) }
            committing = (Task { await self.commitPrepared(prepared) }, batch)
        }
        if let previous = committing { await finish(previous, settings: live.current.configuration.intake) }
    }

    /// Waits for a batch's commit; a batch that must be retried (disk full, store busy) goes back.
    private func finish(_ committing: (task: Task<Bool, Never>, batch: [Candidate]), settings: IntakeSettings) async {
        let done = await committing.task.value
        markInProgress(committing.batch, false)
        if !done {
            candidates.withLock { queue in committing.batch.forEach { queue.add($0) } }
            try? await Task.sleep(for: settings.pauseRetryInterval)
        }
    }

    /// Paths taken for a batch not yet committed: a rescan meanwhile must not offer them again.
    private func markInProgress(_ batch: [Candidate], _ taken: Bool) {
        inProgress.withLock { set in
            for candidate in batch {
                if taken { set.insert(candidate.directory + "/" + candidate.name) } else { set.remove(candidate.directory + "/" + candidate.name) }
            }
        }
    }

    private func isTaken(_ path: String) -> Bool {
        inProgress.withLock { $0.contains(path) } || settler.isPending(path) || settler.isStuck(path)
    }

    /// Lists every inbound folder and queues what is ready, up to `max_waiting_files` in memory, each
    /// folder an equal share so that one agency's backlog never hides another's files.
    private func scan() {
        let configuration = live.current.configuration
        let limit = configuration.intake.maxWaitingFiles
        let share = max(1, limit / max(1, configuration.agencies.count))
        var found = 0
        var truncated = false
        // A file inotify could not queue meanwhile sets this again, and is listed by the next scan.
        state.withLock { $0.moreWaiting = false }
        for agency in configuration.agencies {
            let room = min(share, limit - candidates.withLock { $0.count })
            guard room > 0 else {
                truncated = true
                continue
            }
            // Names that cannot be taken now (still being written, not UTF-8, taken or queued already)
            // are skipped while listing, so they never use up the room: a full listing means more files.
            let suffixes = configuration.intake.inProgressSuffixes
            let entries: [DirectoryEntry]
            do {
                entries = try FileSystem.listDirectory(agency.inboundDirectory, maximumEntries: room) { name in
                    guard !InboundName.isInProgress(name, suffixes: suffixes) else { return false }
                    if InboundName.isUndecodable(name) {
                        logger.error("A file in the inbound folder has a name that is not valid UTF-8 and cannot be taken; rename it.",
                                     metadata: [LogKey.agency: .string(agency.id), LogKey.code: "undecodable_name"])
                        return false
                    }
                    let candidate = Candidate(agency: agency.id, directory: agency.inboundDirectory, name: name)
                    return !isTaken(agency.inboundDirectory + "/" + name) && !candidates.withLock { $0.contains(candidate) }
                }
            } catch {
                logger.error("Inbound folder cannot be listed.", metadata: [LogKey.agency: .string(agency.id), LogKey.code: .string(error.call)])
                continue
            }
            if entries.count == room { truncated = true }
            for entry in entries {
                if candidates.withLock({ $0.add(Candidate(agency: agency.id, directory: agency.inboundDirectory, name: entry.name)) }) {
                    found += 1
                }
            }
        }
        state.withLock { state in
            state.rescanRequested = false
            state.lastScan = .now
            if truncated { state.moreWaiting = true }
        }
        if found > 0 { wake.signal() }
    }

    /// A batch read, validated and routed, ready to commit.
    struct PreparedBatch: Sendable {
        var configuration: RouterConfiguration
        var records: [IntakeRecord]
        var taken: [Candidate]
        var identities: [FileIdentity?]
        var started: ContinuousClock.Instant
        var prepared: ContinuousClock.Instant
    }

    /// Reads, validates and routes a batch; nil when intake must pause (disk space).
    private func prepare(_ batch: [Candidate], settings: IntakeSettings) -> PreparedBatch? {
        let snapshot = live.current
        let configuration = snapshot.configuration
        if let reason = lowDiskSpace(configuration) {
            setPaused(reason)
            return nil
        }
        let preparer = ReferralPreparer(schema: configuration.schema, router: snapshot.router)
        let started = ContinuousClock.now
        var records: [IntakeRecord] = []
        var taken: [Candidate] = []
        var identities: [FileIdentity?] = []
        for candidate in batch where !InboundName.isInProgress(candidate.name, suffixes: settings.inProgressSuffixes) {
            guard configuration.agency(candidate.agency) != nil else { continue }
            let receivedAt = Timestamp.now()
            do {
                let contents = try FileSystem.readRegularFile(named: candidate.name, inDirectory: candidate.directory, maxBytes: settings.maxFileBytes)
                records.append(preparer.prepare(bytes: contents.bytes, agency: candidate.agency, source: .folder(name: candidate.name), receivedAt: receivedAt))
                taken.append(candidate)
                identities.append(contents.identity)
            } catch {
                switch error {
                case .notFound:
                    continue   // already taken, or removed by its owner
                case .changedWhileReading:
                    // Written in place against the convention: its next close event queues it again.
                    continue
                case .system(let systemError):
                    logger.warning("Inbound file cannot be read; it stays in place and is retried at the next scan.",
                                   metadata: [LogKey.agency: .string(candidate.agency), LogKey.code: .string("\(systemError.call)_\(systemError.errno)")])
                    continue
                case .symbolicLink, .notRegularFile, .tooLarge:
                    records.append(preparer.refused(error, name: candidate.name, agency: candidate.agency, receivedAt: receivedAt))
                    taken.append(candidate)
                    identities.append(try? FileSystem.identity(of: candidate.directory + "/" + candidate.name))
                }
            }
        }
        return PreparedBatch(configuration: configuration, records: records, taken: taken, identities: identities,
                             started: started, prepared: .now)
    }

    /// Commits a prepared batch, then hands its sources to the settler and its deliveries to their
    /// workers. Returns false when it must be retried later (nothing was changed on disk).
    private func commitPrepared(_ batch: PreparedBatch) async -> Bool {
        let (configuration, records, taken, identities, started, prepared) =
            (batch.configuration, batch.records, batch.taken, batch.identities, batch.started, batch.prepared)
        guard !records.isEmpty else { return true }
        let results: [IntakeCommitResult]
        do {
            results = try await store.commitIntake(records)
        } catch {
            if error.isTransient {
                setPaused("store: \(error.code)")
                return false
            }
            onFatal(error)
            return true
        }
        setPaused(nil)
        let committed = ContinuousClock.now

        // Committed: now, and only now, the sources go (settled off this loop, see SourceSettler).
        var fates: [SourceFate] = []
        var scheduled: [ScheduledDelivery] = []
        var receiptRows: [Int64] = []
        for (index, (record, candidate)) in zip(records, taken).enumerated() {
            guard let agency = configuration.agency(candidate.agency), index < results.count else { continue }
            let identity = identities[index]
            switch results[index] {
            case .duplicateContent(let original):
                fates.append(SourceFate(directory: candidate.directory, name: candidate.name, identity: identity, action: .remove))
                logger.record(.duplicate(referralId: original, agency: agency.id))
            case .stored(let stored) where stored.receipt != .rejected:
                fates.append(SourceFate(directory: candidate.directory, name: candidate.name, identity: identity, action: .remove))
                scheduled += stored.deliveries
                receiptRows.append(stored.rowID)
                logger.record(.received(referralId: stored.referralId, agency: agency.id, outcome: stored.receipt,
                                        priority: record.decision.priority, deliveries: stored.deliveries.count))
                for delivery in record.decision.deliveries {
                    logger.record(.routed(referralId: stored.referralId, agency: agency.id, destination: delivery.destination, rule: delivery.rule))
                }
            case .stored(let stored):
                fates.append(rejection(candidate, identity: identity, agency: agency, record: record, issues: record.issues, referralId: stored.referralId))
                receiptRows.append(stored.rowID)
                let code = record.issues.first?.keyword ?? "rejected"
                logger.record(.rejected(referralId: stored.referralId, agency: agency.id, code: code, issues: record.issues.count))
            case .conflictingReferralId(let stored, let issue):
                fates.append(rejection(candidate, identity: identity, agency: agency, record: record, issues: record.issues + [issue], referralId: stored.referralId))
                receiptRows.append(stored.rowID)
                logger.record(.rejected(referralId: stored.referralId, agency: agency.id, code: issue.keyword, issues: record.issues.count + 1))
            }
        }
        settler.submit(fates)
        delivery.enqueue(scheduled)
        receipts.markDirty(receiptRows)
        let settled = ContinuousClock.now
        func milliseconds(_ duration: Duration) -> Logger.MetadataValue { .stringConvertible(Int(duration.seconds * 1000)) }
        logger.debug("Intake batch committed.", metadata: [
            LogKey.count: .stringConvertible(records.count), "prepare_ms": milliseconds(prepared - started),
            "commit_ms": milliseconds(committed - prepared), "settle_ms": milliseconds(settled - committed),
        ])
        return true
    }

    /// The rejected fate of a committed record: its report (the errors, each with pointer, keyword,
    /// message and line:column) travels with the move.
    private func rejection(_ candidate: Candidate, identity: FileIdentity?, agency: AgencyConfiguration, record: IntakeRecord,
                           issues: [ValidationIssue], referralId: String) -> SourceFate {
        var report = JSONObject()
        report["file"] = .string(candidate.name)
        report["referralId"] = .string(referralId)
        report["agency"] = .string(agency.id)
        report["rejectedAt"] = .string(record.receivedAt.rfc3339)
        report["errors"] = .array(issues.map(\.json))
        return SourceFate(directory: candidate.directory, name: candidate.name, identity: identity,
                          action: .moveToRejected(rejectedDirectory: agency.rejectedDirectory, report: report, receivedAt: record.receivedAt))
    }

    private func lowDiskSpace(_ configuration: RouterConfiguration) -> String? {
        for path in [configuration.stateDirectory, configuration.spoolDirectory] {
            guard let available = try? FileSystem.availableBytes(at: path) else { continue }
            if available < UInt64(configuration.intake.minFreeBytes) {
                return "low disk space at \(path): \(available) bytes free, below intake.min_free_bytes"
            }
        }
        return nil
    }

    private func setPaused(_ reason: String?) {
        let previous = state.withLock { state -> String? in
            let previous = state.paused
            state.paused = reason
            return previous
        }
        if let reason, previous == nil {
            logger.record(.alert(code: "intake_paused", destination: nil, message: "Intake paused: \(reason). Files stay in their folders; intake resumes by itself."))
        } else if reason == nil, previous != nil {
            logger.notice("Intake resumed.", metadata: [LogKey.code: "intake_resumed"])
        }
    }

    /// Creates missing inbound, receipts and rejected folders (0700/0750; tmpfiles.d sets agency groups in production).
    static func prepareFolders(_ agencies: [AgencyConfiguration]) throws(SystemError) {
        for agency in agencies {
            try FileSystem.createDirectory(agency.inboundDirectory, mode: 0o700)
            try FileSystem.createDirectory(agency.receiptsDirectory, mode: 0o750)
            try FileSystem.createDirectory(agency.rejectedDirectory, mode: 0o750)
        }
    }
}
