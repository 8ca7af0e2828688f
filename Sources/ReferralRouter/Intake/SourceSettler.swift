import JSONSchema
import LinuxSystem
import Logging
import Synchronization

/// What becomes of an inbound file once its record is committed.
struct SourceFate: Sendable {
    enum Action: Sendable {
        /// Accepted, returned or a duplicate: the content is durably stored, so the source goes.
        case remove
        /// Rejected: the source moves beside its `<name>.errors.json` report into the agency's rejected folder.
        case moveToRejected(rejectedDirectory: String, report: JSONObject, receivedAt: Timestamp)
    }
    var directory: String
    var name: String
    /// The entry as it was read; a file since replaced under the same name is left for intake.
    var identity: FileIdentity?
    var action: Action

    var sourcePath: String { directory + "/" + name }
}

/// Settles committed sources off the intake loop, so the next batch is read, validated and committed
/// while the last one's files are removed or moved (unlinks can wait behind the file system's journal).
/// Paths waiting here are not offered for intake again. Removals need no directory fsync: a removal
/// lost in a crash brings back a file whose record is committed, which intake records as a duplicate.
/// Moves to rejected/ are fsynced (the report must not be lost); a failed fsync is fatal.
final class SourceSettler: Sendable {
    private let pending = Mutex<Set<String>>([])
    /// Sources that could not be removed or moved, as they were: not offered again until they change
    /// (or the router restarts), so one stuck file never becomes a new record at every rescan.
    private let stuck = Mutex<[String: FileIdentity]>([:])
    private let queue = Mutex<[SourceFate]>([])
    private let wake = WakeSignal()
    private let logger: Logger
    private let onFatal: @Sendable (any Error) -> Void
    /// Called with a source replaced by a new file of the same name before it was settled.
    private let onReplaced: @Sendable (SourceFate) -> Void

    init(logger: Logger, onFatal: @escaping @Sendable (any Error) -> Void, onReplaced: @escaping @Sendable (SourceFate) -> Void) {
        self.logger = logger
        self.onFatal = onFatal
        self.onReplaced = onReplaced
    }

    func isPending(_ path: String) -> Bool { pending.withLock { $0.contains(path) } }

    /// Whether `path` is a stuck source that has not changed since.
    func isStuck(_ path: String) -> Bool {
        guard let identity = stuck.withLock({ $0[path] }) else { return false }
        if (try? FileSystem.identity(of: path)) == identity { return true }
        _ = stuck.withLock { $0.removeValue(forKey: path) }
        return false
    }

    var backlog: Int { pending.withLock { $0.count } }

    func submit(_ fates: [SourceFate]) {
        guard !fates.isEmpty else { return }
        pending.withLock { set in fates.forEach { set.insert($0.sourcePath) } }
        queue.withLock { $0.append(contentsOf: fates) }
        wake.signal()
    }

    /// Settles until cancelled, then whatever is left.
    func run() async {
        while !Task.isCancelled {
            await wake.wait(timeout: nil)
            settleQueued()
        }
        settleQueued()
    }

    /// Settles everything queued now (also used at shutdown, so no settled-later work is left).
    func settleQueued() {
        while true {
            let fates = queue.withLock { queue -> [SourceFate] in
                defer { queue.removeAll() }
                return queue
            }
            if fates.isEmpty { return }
            var rejectedFolders: Set<String> = []
            var replaced: [SourceFate] = []
            for fate in fates {
                // An agency may reuse a name: never remove or move a file other than the one committed.
                if let identity = fate.identity, (try? FileSystem.identity(of: fate.sourcePath)) != identity {
                    _ = pending.withLock { $0.remove(fate.sourcePath) }
                    if FileSystem.kind(of: fate.sourcePath) != nil { replaced.append(fate) }
                    continue
                }
                do {
                    switch fate.action {
                    case .remove:
                        try FileSystem.removeFile(fate.sourcePath)
                    case .moveToRejected(let rejectedDirectory, let report, let receivedAt):
                        try Self.moveToRejected(directory: fate.directory, name: fate.name, rejectedDirectory: rejectedDirectory,
                                                report: report, receivedAt: receivedAt)
                        rejectedFolders.insert(rejectedDirectory)
                    }
                } catch {
                    if error.isIOError {
                        onFatal(error)
                    } else {
                        if let identity = fate.identity ?? (try? FileSystem.identity(of: fate.sourcePath)) {
                            stuck.withLock { $0[fate.sourcePath] = identity }
                        }
                        let what: String = switch fate.action {
                        case .remove: "A committed referral's source file could not be removed"
                        case .moveToRejected: "A rejected file could not be moved to the agency's rejected folder (it must be writable and on the same file system)"
                        }
                        logger.error("\(what); it stays in the inbound folder and is not taken again until it changes or the router restarts.",
                                     metadata: [LogKey.code: .string("\(error.call)_\(error.errno)"), LogKey.stage: "intake"])
                    }
                }
                _ = pending.withLock { $0.remove(fate.sourcePath) }
            }
            for folder in rejectedFolders {
                do {
                    try FileSystem.syncDirectory(folder)
                } catch {
                    onFatal(error)
                }
            }
            replaced.forEach(onReplaced)
        }
    }

    /// Moves the source beside its report, never overwriting an earlier rejected file of that name.
    private static func moveToRejected(directory: String, name: String, rejectedDirectory: String, report: JSONObject,
                                       receivedAt: Timestamp) throws(SystemError) {
        try FileSystem.createDirectory(rejectedDirectory, mode: 0o750)
        var target = name
        var attempt = 0
        while true {
            do {
                try FileSystem.rename(directory + "/" + name, to: rejectedDirectory + "/" + target, noReplace: true)
                break
            } catch {
                guard error.errno == EEXIST_CODE, attempt < 1000 else { throw error }
                attempt += 1
                target = "\(name).\(receivedAt.millisecondsSinceEpoch)-\(attempt)"
            }
        }
        var report = report
        report["storedAs"] = .string(target)
        try FileSystem.writeFileAtomically(JSONValue.object(report).serialized(pretty: true) + [0x0a],
                                          to: rejectedDirectory + "/" + target + ".errors.json", mode: 0o640, syncDirectory: false)
    }
}

/// EEXIST on Linux; spelled out so stage code does not import Glibc.
let EEXIST_CODE: Int32 = 17
