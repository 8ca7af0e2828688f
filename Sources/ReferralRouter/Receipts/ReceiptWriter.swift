import LinuxSystem
import Logging
import ServiceLifecycle
import Synchronization

/// The receipts stage. Referrals whose state changed are marked dirty; this service renders their
/// receipts from the store and writes each atomically (temp, fsync, rename), syncing each directory
/// once per batch. Each receipt is written `coalesce` after its referral first changed, so a referral
/// accepted and delivered within that time is written once, with both. Receipts are a view of
/// committed state: on start, none is trusted and any referral can be re-rendered.
///
/// Distrusts: nothing external; writes only under each agency's receipts folder.
/// Logs: write failures (with the agency and referral id, never the content).
public final class ReceiptWriter: Service, Sendable {
    private let store: any ReferralStore
    private let directories: Mutex<[String: String]>   // agency → receipts folder
    /// Referral row → when its receipt is due: `coalesce` after the first change since it was last
    /// written, or `retryInterval` after a write that failed.
    private let dirty = Mutex<[Int64: ContinuousClock.Instant]>([:])
    private let wake = WakeSignal()
    private let logger: Logger
    private let enabled: Bool
    private let retryInterval: Duration
    private let coalesce: Duration
    /// Raised when writing fails in a way that must stop the daemon (a failed fsync).
    private let onFatal: @Sendable (SystemError) -> Void

    public init(store: any ReferralStore, agencies: [AgencyConfiguration], enabled: Bool, logger: Logger,
                retryInterval: Duration = .seconds(5), coalesce: Duration = .zero, onFatal: @escaping @Sendable (SystemError) -> Void) {
        self.store = store
        self.directories = Mutex(Dictionary(agencies.map { ($0.id, $0.receiptsDirectory) }, uniquingKeysWith: { first, _ in first }))
        self.enabled = enabled
        self.logger = logger
        self.retryInterval = retryInterval
        self.coalesce = coalesce
        self.onFatal = onFatal
    }

    /// After a reload: new agencies' folders.
    public func updateAgencies(_ agencies: [AgencyConfiguration]) {
        directories.withLock { $0 = Dictionary(agencies.map { ($0.id, $0.receiptsDirectory) }, uniquingKeysWith: { first, _ in first }) }
    }

    public func markDirty(_ referralRowIDs: some Sequence<Int64>) {
        guard enabled else { return }
        let due = ContinuousClock.now + coalesce
        let added = dirty.withLock { pending in
            var added = false
            for rowID in referralRowIDs where pending[rowID] == nil {
                pending[rowID] = due
                added = true
            }
            return added
        }
        if added { wake.signal() }
    }

    public var backlog: Int { dirty.withLock { $0.count } }

    /// Writes until graceful shutdown, then flushes what is left. On a thread of its own: writing a
    /// batch of receipts blocks in system calls for milliseconds.
    public func run() async throws {
        let thread = DedicatedThreadExecutor(name: "rr-receipts")
        defer { thread.shutdown() }
        await withTaskExecutorPreference(thread) { await writeUntilShutdown() }
    }

    private func writeUntilShutdown() async {
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                // Until the earliest receipt is due (a new one wakes this sooner); no timeout when none waits.
                let earliest = dirty.withLock { $0.values.min() }
                await wake.wait(timeout: earliest.map { max($0 - .now, .milliseconds(1)) })
                if Task.isShuttingDownGracefully { break }
                await flush(dueBy: .now)
            }
        } onGracefulShutdown: { [wake] in
            wake.signal()
        }
        await flush()
    }

    /// Writes every dirty receipt now, due or not (at shutdown, and for tests).
    public func flush() async {
        await flush(dueBy: nil)
    }

    /// Writes the receipts due by `deadline` (all with nil), in batches: one flush for the whole batch
    /// (temp files, one syncfs, renames, one fsync per directory), not one fsync per receipt. One pass:
    /// receipts that cannot be written are due again after `retryInterval`, so a broken folder never
    /// holds this.
    private func flush(dueBy deadline: ContinuousClock.Instant?) async {
        var failed: [Int64] = []
        defer {
            if !failed.isEmpty {
                let retryAt = ContinuousClock.now + retryInterval
                dirty.withLock { pending in
                    for rowID in failed { pending[rowID] = min(pending[rowID] ?? retryAt, retryAt) }
                }
            }
        }
        while true {
            let batch = dirty.withLock { pending -> [Int64] in
                var taken: [Int64] = []
                for (rowID, due) in pending where deadline.map({ due <= $0 }) ?? true {
                    taken.append(rowID)
                    if taken.count == 512 { break }
                }
                for rowID in taken { pending[rowID] = nil }
                return taken
            }
            if batch.isEmpty { return }
            var files: [(path: String, bytes: [UInt8])] = []
            let now = Timestamp.now()
            let snapshots: [Int64: ReceiptSnapshot]
            do {
                snapshots = try await store.receiptSnapshots(referralRowIDs: batch)
            } catch {
                failed.append(contentsOf: batch)
                logger.warning("Receipt state could not be read; it will be retried.", metadata: [LogKey.code: .string("\(error)"), LogKey.stage: "receipts"])
                return
            }
            // Each folder is made (or found broken) once per batch, not once per receipt.
            var readyFolders: Set<String> = []
            var brokenFolders: Set<String> = []
            for rowID in batch {
                guard let snapshot = snapshots[rowID], let folder = directories.withLock({ $0[snapshot.agency] }) else { continue }
                if !readyFolders.contains(folder), !brokenFolders.contains(folder) {
                    do {
                        try FileSystem.createDirectory(folder, mode: 0o750)
                        readyFolders.insert(folder)
                    } catch {
                        brokenFolders.insert(folder)
                        logger.warning("Receipt folder cannot be created; its receipts will be retried.", metadata: [LogKey.code: .string(error.call), LogKey.stage: "receipts"])
                    }
                }
                if brokenFolders.contains(folder) {
                    failed.append(rowID)
                    continue
                }
                files.append((folder + "/" + snapshot.receiptName, Receipt.render(snapshot, updatedAt: now).serialized(pretty: true) + [0x0a]))
            }
            do {
                try FileSystem.writeFilesAtomically(files, mode: 0o640)
            } catch {
                if error.isIOError || error.call == "syncfs" || error.call == "fsync" {
                    onFatal(error)
                    return
                }
                failed.append(contentsOf: batch)
                logger.warning("Receipts could not be written; they will be retried.", metadata: [LogKey.code: .string(error.call), LogKey.stage: "receipts"])
            }
        }
    }
}
