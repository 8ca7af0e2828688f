import Glibc
import Synchronization
import Testing
@testable import LinuxSystem

/// Consumes a watcher's stream on its own task and records what arrives, so tests can wait for
/// events with a deadline instead of awaiting the stream without bound.
final class EventCollector: Sendable {
    private final class Log: Sendable {
        let received = Mutex<[DirectoryWatcher.Event]>([])
        let ended = Atomic<Bool>(false)
    }

    private let log = Log()
    private let task: Task<Void, Never>

    init(_ watcher: DirectoryWatcher) {
        let log = self.log
        let stream = watcher.events
        task = Task {
            for await event in stream { log.received.withLock { $0.append(event) } }
            log.ended.store(true, ordering: .sequentiallyConsistent)
        }
    }

    var events: [DirectoryWatcher.Event] { log.received.withLock { $0 } }
    var isFinished: Bool { log.ended.load(ordering: .sequentiallyConsistent) }

    /// Waits (bounded) until `count` events have arrived; returns them.
    func waitForEvents(_ count: Int, within seconds: Double = 5) async -> [DirectoryWatcher.Event] {
        _ = await eventually(within: seconds) { self.events.count >= count }
        return events
    }

    func waitUntilFinished(within seconds: Double = 5) async -> Bool {
        await eventually(within: seconds) { self.isFinished }
    }

    func cancel() { task.cancel() }
}

@Suite("DirectoryWatcher")
struct DirectoryWatcherTests {
    @Test func aFileWrittenAndClosedIsReady() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let watcher = try DirectoryWatcher(directories: [directory.path])
            defer { watcher.stop() }
            let collector = EventCollector(watcher)
            try writeTestFile(directory.appending("referral.json"), "{}")
            let events = await collector.waitForEvents(1)
            #expect(events == [.fileReady(directory: directory.path, name: "referral.json")])
        }
    }

    @Test func aFileRenamedInIsReady() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let inbound = directory.appending("inbound")
            #expect(mkdir(inbound, 0o700) == 0)
            try writeTestFile(directory.appending(".staging"), "{}")
            let watcher = try DirectoryWatcher(directories: [inbound])
            defer { watcher.stop() }
            let collector = EventCollector(watcher)
            #expect(rename(directory.appending(".staging"), inbound + "/moved.json") == 0)
            let events = await collector.waitForEvents(1)
            #expect(events == [.fileReady(directory: inbound, name: "moved.json")])
        }
    }

    @Test func aFileStillOpenForWritingIsNotReadyUntilClosed() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let watcher = try DirectoryWatcher(directories: [directory.path])
            defer { watcher.stop() }
            let collector = EventCollector(watcher)
            let descriptor = open(directory.appending("partial.json"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            try #require(descriptor >= 0)
            #expect(write(descriptor, "{\"half\":", 8) == 8)
            // Nothing may arrive while it is open: give the reader ample time to show otherwise.
            try await Task.sleep(for: .milliseconds(300))
            #expect(collector.events.isEmpty)
            #expect(write(descriptor, "1}", 2) == 2)
            try await Task.sleep(for: .milliseconds(100))
            #expect(collector.events.isEmpty)
            close(descriptor)
            let events = await collector.waitForEvents(1)
            #expect(events == [.fileReady(directory: directory.path, name: "partial.json")])
        }
    }

    @Test func eventsFromSeveralDirectoriesNameTheirDirectory() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let first = directory.appending("first")
            let second = directory.appending("second")
            #expect(mkdir(first, 0o700) == 0)
            #expect(mkdir(second, 0o700) == 0)
            let watcher = try DirectoryWatcher(directories: [first, second])
            defer { watcher.stop() }
            #expect(watcher.directories == [first, second])
            let collector = EventCollector(watcher)
            try writeTestFile(first + "/a", "1")
            try writeTestFile(second + "/b", "2")
            try writeTestFile(first + "/c", "3")
            let events = await collector.waitForEvents(3)
            #expect(events == [
                .fileReady(directory: first, name: "a"),
                .fileReady(directory: second, name: "b"),
                .fileReady(directory: first, name: "c"),
            ])
        }
    }

    @Test func stopFinishesTheStreamPromptly() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let watcher = try DirectoryWatcher(directories: [directory.path])
            let collector = EventCollector(watcher)
            try await Task.sleep(for: .milliseconds(50))  // let the consumer start waiting
            let started = ContinuousClock.now
            watcher.stop()
            let stopDuration = ContinuousClock.now - started
            #expect(stopDuration < .seconds(1))
            #expect(await collector.waitUntilFinished(within: 2))
            watcher.stop()  // idempotent
            // The descriptors are gone: nothing more arrives.
            try writeTestFile(directory.appending("late"), "x")
            #expect(collector.events.isEmpty)
        }
    }

    @Test func stopWithoutAConsumerAndDeinitAreSafe() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            var watcher: DirectoryWatcher? = try DirectoryWatcher(directories: [directory.path])
            try writeTestFile(directory.appending("f"), "x")
            watcher?.stop()
            watcher = try DirectoryWatcher(directories: [directory.path])
            #expect(watcher != nil)
            watcher = nil  // deinit stops the thread and closes the descriptors
            var stream = try DirectoryWatcher(directories: [directory.path]).events.makeAsyncIterator()
            // The watcher was released at once: its stream is finished, not hanging.
            #expect(await stream.next() == nil)
        }
    }

    @Test func removingTheWatchedDirectoryLosesTheWatch() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let watched = directory.appending("watched")
            #expect(mkdir(watched, 0o700) == 0)
            let watcher = try DirectoryWatcher(directories: [watched])
            defer { watcher.stop() }
            let collector = EventCollector(watcher)
            #expect(rmdir(watched) == 0)
            _ = await collector.waitForEvents(1)
            try await Task.sleep(for: .milliseconds(100))  // the IN_IGNORED that follows must not repeat it
            #expect(collector.events == [.watchLost(directory: watched)])
        }
    }

    @Test func movingTheWatchedDirectoryLosesTheWatchAndItsEvents() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let watched = directory.appending("watched")
            #expect(mkdir(watched, 0o700) == 0)
            let watcher = try DirectoryWatcher(directories: [watched])
            defer { watcher.stop() }
            let collector = EventCollector(watcher)
            #expect(rename(watched, directory.appending("elsewhere")) == 0)
            _ = await collector.waitForEvents(1)
            try writeTestFile(directory.appending("elsewhere/after-move"), "x")
            try await Task.sleep(for: .milliseconds(200))
            #expect(collector.events == [.watchLost(directory: watched)])
        }
    }

    @Test func initFailsNamingTheDirectory() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let missing = directory.appending("missing")
            #expect(throws: SystemError(call: "inotify_add_watch", errno: ENOENT, path: missing)) {
                try DirectoryWatcher(directories: [directory.path, missing])
            }
            try writeTestFile(directory.appending("file"), "x")
            #expect(throws: SystemError(call: "inotify_add_watch", errno: ENOTDIR, path: directory.appending("file"))) {
                try DirectoryWatcher(directories: [directory.appending("file")])
            }
            // IN_DONT_FOLLOW: a link to a directory is not a directory.
            #expect(symlink(directory.path, directory.appending("link")) == 0)
            #expect(throws: SystemError(call: "inotify_add_watch", errno: ENOTDIR, path: directory.appending("link"))) {
                try DirectoryWatcher(directories: [directory.appending("link")])
            }
        }
    }

    @Test func aConsumerFallingBehindGetsOneOverflowAndBoundedMemory() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let limit = 8
            let fileCount = 50
            let watcher = try DirectoryWatcher(directories: [directory.path], bufferLimit: limit)
            defer { watcher.stop() }
            #expect(watcher.bufferLimit == limit)
            for index in 0..<fileCount { try writeTestFile(directory.appending("f\(index)"), "x") }
            // Nobody consumes yet: wait (bounded) until the reader has offered every event.
            #expect(await eventually { watcher.offeredCount == fileCount })
            #expect(watcher.bufferedCount == limit + 1)
            #expect(watcher.droppedCount == fileCount - limit)

            let collector = EventCollector(watcher)
            let events = await collector.waitForEvents(limit + 1)
            #expect(events.count == limit + 1)
            #expect(events.prefix(limit) == (0..<limit).map { .fileReady(directory: directory.path, name: "f\($0)") }[...])
            #expect(events.last == .overflow)

            // Caught up: the next event arrives normally, with no second overflow.
            try writeTestFile(directory.appending("after"), "x")
            let later = await collector.waitForEvents(limit + 2)
            #expect(later.count == limit + 2)
            #expect(later.last == .fileReady(directory: directory.path, name: "after"))
            #expect(later.filter { $0 == .overflow }.count == 1)
        }
    }

    @Test func aKernelQueueOverflowBecomesOverflow() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let limitText = try readTestFile("/proc/sys/fs/inotify/max_queued_events")
            let kernelLimit = try #require(Int(String(decoding: limitText.filter { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self)))
            try #require(kernelLimit <= 1_000_000, "the kernel queue is too large to overflow in a test")

            // The reader is not started, so the kernel queue fills and overflows.
            let watcher = try DirectoryWatcher(directories: [directory.path], bufferLimit: DirectoryWatcher.defaultBufferLimit, startReading: false)
            defer { watcher.stop() }
            // Alternate two names: the kernel merges an event identical to the one before it.
            let names = [directory.appending("a"), directory.appending("b")]
            for index in 0..<(kernelLimit + 100) {
                let descriptor = open(names[index % 2], O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                try #require(descriptor >= 0)
                close(descriptor)
            }
            try watcher.startReading()
            let collector = EventCollector(watcher)
            #expect(await eventually(within: 20) { collector.events.last == .overflow })
            let events = collector.events
            // The queue holds kernelLimit events: the IN_CREATE of "a" and "b" take two slots and are
            // not announced (they are regular files, announced when closed), so kernelLimit - 2 files
            // are ready, then the overflow.
            #expect(events.count == kernelLimit - 1)
            #expect(events.filter { $0 == .overflow }.count == 1)
        }
    }

    @Test func cancellingTheConsumerEndsTheStream() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let watcher = try DirectoryWatcher(directories: [directory.path])
            defer { watcher.stop() }
            let collector = EventCollector(watcher)
            try await Task.sleep(for: .milliseconds(50))
            collector.cancel()
            #expect(await collector.waitUntilFinished(within: 2))
        }
    }
}

/// Entries that are not regular files, made in place, are announced at once (to be refused).
struct DirectoryWatcherNonRegularEntryTests {
    @Test func symlinkFifoAndDirectoryMadeInPlaceAreAnnouncedImmediately() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let watcher = try DirectoryWatcher(directories: [directory.path])
            defer { watcher.stop() }
            let collector = EventCollector(watcher)
            #expect(symlink("/etc/passwd", directory.appending("link")) == 0)
            #expect(mkfifo(directory.appending("pipe"), 0o600) == 0)
            #expect(mkdir(directory.appending("folder"), 0o700) == 0)
            let descriptor = open(directory.appending("being-written"), O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            try #require(descriptor >= 0)
            #expect(await eventually(within: 5) { collector.events.count >= 3 })
            #expect(Set(collector.events) == [.fileReady(directory: directory.path, name: "link"),
                                              .fileReady(directory: directory.path, name: "pipe"),
                                              .fileReady(directory: directory.path, name: "folder")],
                    "a regular file still open for writing is not announced")
            close(descriptor)
            #expect(await eventually(within: 5) { collector.events.contains(.fileReady(directory: directory.path, name: "being-written")) })
        }
    }
}
