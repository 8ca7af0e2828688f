import LinuxSystem
import Logging
import ServiceLifecycle
import Synchronization

/// The receipts stage. Referrals whose state changed are marked dirty; this service renders their
/// receipts from the store and writes each atomically (temp, fsync, rename), syncing each directory
/// once per batch. Coalescing means a referral delivered to three partners in quick succession is
/// written once or twice, not four times. Receipts are a view of committed state: on start, none is
/// trusted and any referral can be re-rendered.
///
/// Distrusts: nothing external; writes only under each agency's receipts folder.
/// Logs: write failures (with the agency and referral id, never the content).
public final class ReceiptWriter: Service, Sendable {
    private let store: any ReferralStore
    private let directories: Mutex<[String: String]>   // agency → receipts folder
    private let dirty = Mutex<Set<Int64>>([])
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
        let added = dirty.withLock { set in
            let before = set.count
            set.formUnion(referralRowIDs)
            return set.count > before
        }
        if added { wake.signal() }
    }

    public var backlog: Int { dirty.withLock { $0.count } }

    /// Writes until graceful shutdown, then flushes what is left.
    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                // With receipts still failing (a broken folder), try again after retryInterval.
                await wake.wait(timeout: backlog > 0 ? retryInterval : nil)
                // Let changes that come close together (accepted, then delivered) become one write.
                if coalesce > .zero, !Task.isShuttingDownGracefully { try? await Task.sleep(for: coalesce) }
                await flush()
            }
        } onGracefulShutdown: { [wake] in
            wake.signal()
        }
        await flush()
    }

    /// Writes every dirty receipt now, in batches: one flush for the whole batch (temp files, one
    /// syncfs, renames, one fsync per directory), not one fsync per receipt. One pass: receipts that
    /// cannot be written stay dirty for the run loop to retry, so a broken folder never holds this.
    public func flush() async {
        var failed: [Int64] = []
        defer { if !failed.isEmpty { dirty.withLock { $0.formUnion(failed) } } }
        while true {
            let batch = dirty.withLock { set -> [Int64] in
                let taken = Array(set.prefix(512))
                set.subtract(taken)
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
