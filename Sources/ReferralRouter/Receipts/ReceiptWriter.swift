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
    /// Raised when writing fails in a way that must stop the daemon (a failed fsync).
    private let onFatal: @Sendable (SystemError) -> Void

    public init(store: any ReferralStore, agencies: [AgencyConfiguration], enabled: Bool, logger: Logger,
                retryInterval: Duration = .seconds(5), onFatal: @escaping @Sendable (SystemError) -> Void) {
        self.store = store
        self.directories = Mutex(Dictionary(agencies.map { ($0.id, $0.receiptsDirectory) }, uniquingKeysWith: { first, _ in first }))
        self.enabled = enabled
        self.logger = logger
        self.retryInterval = retryInterval
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
                await wake.wait(timeout: nil)
                await flush()
            }
        } onGracefulShutdown: { [wake] in
            wake.signal()
        }
        await flush()
    }

    /// Writes every dirty receipt now.
    public func flush() async {
        while true {
            let batch = dirty.withLock { set -> [Int64] in
                let taken = Array(set.prefix(512))
                set.subtract(taken)
                return taken
            }
            if batch.isEmpty { return }
            var touched: Set<String> = []
            var failed: [Int64] = []
            for rowID in batch {
                do {
                    guard let snapshot = try await store.receiptSnapshot(referralRowID: rowID) else { continue }
                    guard let folder = directories.withLock({ $0[snapshot.agency] }) else { continue }
                    let bytes = Receipt.render(snapshot, updatedAt: .now()).serialized(pretty: true)
                    try FileSystem.createDirectory(folder, mode: 0o750)
                    try FileSystem.writeFileAtomically(bytes + [0x0a], to: folder + "/" + snapshot.receiptName, mode: 0o640, syncDirectory: false)
                    touched.insert(folder)
                } catch let error as SystemError {
                    if error.isIOError { onFatal(error); return }
                    failed.append(rowID)
                    logger.warning("Receipt could not be written; it will be retried.", metadata: [LogKey.code: .string(error.call), LogKey.stage: "receipts"])
                } catch {
                    failed.append(rowID)
                    logger.warning("Receipt state could not be read; it will be retried.", metadata: [LogKey.code: .string("\(error)"), LogKey.stage: "receipts"])
                }
            }
            for folder in touched {
                do {
                    try FileSystem.syncDirectory(folder)
                } catch {
                    onFatal(error)
                    return
                }
            }
            if !failed.isEmpty {
                dirty.withLock { $0.formUnion(failed) }
                try? await Task.sleep(for: retryInterval)
            }
        }
    }
}
