import GRDB
import Logging
import ServiceLifecycle

/// Copies the store's write-ahead log back into the database file on a connection of its own, so
/// the single writer, which every intake and outcome commit waits for, does not do that work in
/// line with a commit (about a fifth of the writer's time at full speed, see docs/performance.md).
/// A passive checkpoint never blocks the writer or readers. Should this fall behind or stop, the
/// writer checkpoints by itself once the WAL reaches `writerBackstopPages`.
///
/// Durability is SQLite's: the checkpoint syncs the WAL before copying and the database after.
/// Logs: checkpoint failures (SQLite result codes only).
public final class WALCheckpointer: Service, Sendable {
    /// The writer's own automatic checkpoint when this one runs: 16,384 pages (64 MiB of WAL).
    static let writerBackstopPages = 16_384

    private let database: DatabaseQueue
    private let commits: WakeSignal
    private let interval: Duration
    private let logger: Logger

    /// `interval`: at most one checkpoint per interval while commits keep coming (`[router]
    /// wal_checkpoint_interval_seconds`); none while nothing is written.
    public init(store: SQLiteReferralStore, interval: Duration, logger: Logger) throws(StoreError) {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            // Checkpointing copies frames without the page cache; FULL makes it sync as it goes.
            try db.execute(sql: "PRAGMA cache_size = -256")
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            database = try DatabaseQueue(path: store.path, configuration: configuration)
        } catch {
            throw SQLiteReferralStore.map(error)
        }
        commits = store.committed
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                await commits.wait(timeout: nil)
                // Commits that come meanwhile share this checkpoint.
                try? await Task.sleep(for: interval)
                await checkpoint()
            }
        } onGracefulShutdown: { [commits] in
            commits.signal()
        }
        await checkpoint()
    }

    /// One passive checkpoint; returns the WAL's frames and how many of them are now in the database.
    @discardableResult
    func checkpoint() async -> (walFrames: Int, checkpointed: Int)? {
        do {
            return try await database.writeWithoutTransaction { db in
                guard let row = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)") else { return nil }
                return (walFrames: row[1], checkpointed: row[2])
            }
        } catch {
            logger.warning("WAL checkpoint failed; the writer checkpoints by itself if the WAL keeps growing.",
                           metadata: [LogKey.code: .string(LogSafeError.describe(error)), LogKey.stage: "queue"])
            return nil
        }
    }
}
