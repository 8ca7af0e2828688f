import Glibc
import Synchronization

/// inotify on a set of directories, read on a dedicated thread (never on the Swift cooperative pool).
///
/// Only complete files are announced: IN_CLOSE_WRITE (a writer closed it) and IN_MOVED_TO (it was
/// renamed in). A file still open for writing produces nothing until it is closed. Entries that are
/// not regular files (a symlink, FIFO, socket or directory, made in place: IN_CREATE, checked with
/// lstat) are announced at once, so the reader can refuse them by kind without waiting for a rescan.
///
/// Events are hints, not a ledger: the caller rescans its folders at start-up, on `.overflow`, and
/// after `.watchLost`. Create the watcher before the start-up scan, so that a file arriving between
/// the two is seen by one or the other (possibly both: intake must tolerate a file announced twice). Names that are not valid UTF-8 are decoded with replacement characters.
public final class DirectoryWatcher: Sendable {
    public enum Event: Sendable, Hashable {
        /// IN_CLOSE_WRITE or IN_MOVED_TO: a complete file named `name` in `directory`; or IN_CREATE of
        /// an entry that is not a regular file (to be refused).
        case fileReady(directory: String, name: String)
        /// Events were lost (the kernel queue's IN_Q_OVERFLOW, or the consumer fell more than
        /// `bufferLimit` events behind): the caller rescans.
        case overflow
        /// IN_IGNORED / IN_DELETE_SELF / IN_MOVE_SELF / IN_UNMOUNT: `directory` is no longer watched.
        case watchLost(directory: String)
    }

    /// How many events may wait for the consumer before the excess is dropped for one `.overflow`.
    public static let defaultBufferLimit = 65_536

    /// inotify(7) watch mask: complete files, new non-regular entries; the directory itself must stay put.
    static let watchMask = UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE) | UInt32(IN_DELETE_SELF)
        | UInt32(IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW) | UInt32(IN_EXCL_UNLINK)

    private enum Lifecycle {
        case created
        case reading(thread: pthread_t)
        case stopped
    }

    /// The directories, in the order given.
    public let directories: [String]
    /// The limit this watcher's buffer keeps to.
    public var bufferLimit: Int { buffer.limit }

    private let reader: InotifyReader
    /// The write end of the pipe whose read end the reader polls: one byte stops it.
    private let wakeWriteDescriptor: Int32
    private let buffer: WatcherEventBuffer
    private let stream: AsyncStream<Event>
    private let lifecycle = Mutex<Lifecycle>(.created)

    /// inotify_init1(IN_NONBLOCK|IN_CLOEXEC) and one watch per directory with mask IN_CLOSE_WRITE|
    /// IN_MOVED_TO|IN_DELETE_SELF|IN_MOVE_SELF|IN_ONLYDIR|IN_DONT_FOLLOW|IN_EXCL_UNLINK; then the
    /// reader thread starts. Throws naming the directory that failed.
    public convenience init(directories: [String]) throws(SystemError) {
        try self.init(directories: directories, bufferLimit: Self.defaultBufferLimit)
    }

    /// As `init(directories:)` with a chosen buffer limit (at least 1).
    public convenience init(directories: [String], bufferLimit: Int) throws(SystemError) {
        try self.init(directories: directories, bufferLimit: bufferLimit, startReading: true)
    }

    /// `startReading: false` leaves the thread unstarted until `startReading()`, so tests can let
    /// the kernel queue overflow.
    init(directories: [String], bufferLimit: Int, startReading: Bool) throws(SystemError) {
        precondition(bufferLimit >= 1, "bufferLimit must be at least 1")
        let inotifyDescriptor = try SystemCall.run("inotify_init1") { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
        var watches: [Int32: String] = [:]
        for directory in directories {
            do {
                try SystemCall.checkPath("inotify_add_watch", directory)
                let watch = try SystemCall.run("inotify_add_watch", path: directory) {
                    inotify_add_watch(inotifyDescriptor, directory, Self.watchMask)
                }
                // Two spellings of one directory share a watch; events carry the first.
                if watches[watch] == nil { watches[watch] = directory }
            } catch {
                SystemCall.closeIgnoringErrors(inotifyDescriptor)
                throw error
            }
        }
        let wakePipe: (read: Int32, write: Int32)
        do {
            wakePipe = try Self.makeWakePipe()
        } catch {
            SystemCall.closeIgnoringErrors(inotifyDescriptor)
            throw error
        }

        let buffer = WatcherEventBuffer(limit: bufferLimit)
        self.directories = directories
        self.buffer = buffer
        self.wakeWriteDescriptor = wakePipe.write
        self.reader = InotifyReader(
            inotifyDescriptor: inotifyDescriptor,
            wakeDescriptor: wakePipe.read,
            buffer: buffer,
            watches: watches
        )
        self.stream = AsyncStream(unfolding: { await buffer.next() }, onCancel: { buffer.finish() })
        if startReading {
            do {
                try self.startReading()
            } catch {
                stop()
                throw error
            }
        }
    }

    deinit {
        stop()
    }

    /// Events in arrival order. If the consumer falls behind by more than `bufferLimit` events the
    /// stream drops the excess and yields one `.overflow`, so memory stays bounded and nothing is
    /// silently lost (the consumer rescans). One stream per watcher: every access returns it.
    /// It finishes after `stop()` (events not yet consumed are discarded), if the consuming task is
    /// cancelled, or if the inotify descriptor fails (after `.watchLost` for every directory).
    public var events: AsyncStream<Event> { stream }

    /// Wakes the reader thread through its pipe, waits for it to leave, closes the inotify
    /// descriptor and finishes the stream. Idempotent; returns promptly (the thread only ever
    /// blocks in poll, which the pipe interrupts).
    public func stop() {
        let previous = lifecycle.withLock { state in
            let previous = state
            state = .stopped
            return previous
        }
        switch previous {
        case .stopped:
            return
        case .created:
            break
        case .reading(let thread):
            // The pipe is empty and non-blocking, so this write cannot block; EINTR is retried.
            var one: UInt8 = 1
            _ = try? SystemCall.run("write") { write(wakeWriteDescriptor, &one, 1) }
            _ = pthread_join(thread, nil)
        }
        buffer.finish()
        SystemCall.closeIgnoringErrors(reader.inotifyDescriptor)
        SystemCall.closeIgnoringErrors(reader.wakeDescriptor)
        SystemCall.closeIgnoringErrors(wakeWriteDescriptor)
    }

    /// pipe2(O_CLOEXEC|O_NONBLOCK): both ends, atomically close-on-exec.
    private static func makeWakePipe() throws(SystemError) -> (read: Int32, write: Int32) {
        guard let pipe2 = GNUFunctions.pipe2 else { throw SystemError(call: "pipe2", errno: ENOSYS) }
        var ends: [Int32] = [-1, -1]
        try SystemCall.run("pipe2") { pipe2(&ends, O_CLOEXEC | O_NONBLOCK) }
        return (ends[0], ends[1])
    }

    /// Starts the reader thread (once).
    func startReading() throws(SystemError) {
        try lifecycle.withLock { (state) throws(SystemError) in
            guard case .created = state else { return }
            let context = Unmanaged.passRetained(reader).toOpaque()
            var thread = pthread_t()
            let result = pthread_create(&thread, nil, { context in
                guard let context else { return nil }
                CurrentProcess.nameCurrentThread("rr-watch")
                Unmanaged<InotifyReader>.fromOpaque(context).takeRetainedValue().run()
                return nil
            }, context)
            if result != 0 {
                Unmanaged<InotifyReader>.fromOpaque(context).release()
                throw SystemError(call: "pthread_create", errno: result)
            }
            state = .reading(thread: thread)
        }
    }

    /// Events waiting for the consumer now.
    var bufferedCount: Int { buffer.bufferedCount }
    /// Events the reader has produced so far, delivered or dropped.
    var offeredCount: Int { buffer.offeredCount }
    /// Events dropped because the consumer was behind.
    var droppedCount: Int { buffer.droppedCount }
}
