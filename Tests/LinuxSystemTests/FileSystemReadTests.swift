import Glibc
import Synchronization
import Testing
@testable import LinuxSystem
import TestSupport

@Suite("FileSystem.readRegularFile")
struct FileSystemReadTests {
    @Test func readsARegularFileAndItsIdentity() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("referral.json"), #"{"id":"r-1"}"#)
            let contents = try FileSystem.readRegularFile(named: "referral.json", inDirectory: directory.path, maxBytes: 1024)
            #expect(contents.bytes == Array(#"{"id":"r-1"}"#.utf8))
            #expect(contents.identity == (try FileSystem.identity(of: directory.appending("referral.json"))))
            #expect(contents.identity.size == 12)
        }
    }

    @Test func readsAnEmptyFile() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("empty"), "")
            let contents = try FileSystem.readRegularFile(named: "empty", inDirectory: directory.path, maxBytes: 0)
            #expect(contents.bytes.isEmpty)
        }
    }

    @Test func readsAFileOfExactlyTheLimit() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("exact"), String(repeating: "x", count: 4096))
            let contents = try FileSystem.readRegularFile(named: "exact", inDirectory: directory.path, maxBytes: 4096)
            #expect(contents.bytes.count == 4096)
        }
    }

    @Test func refusesASymbolicLinkToARegularFile() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("target"), "secret")
            #expect(symlink(directory.appending("target"), directory.appending("link")) == 0)
            #expect(throws: FileReadRefusal.symbolicLink) {
                try FileSystem.readRegularFile(named: "link", inDirectory: directory.path, maxBytes: 1024)
            }
        }
    }

    @Test func refusesASymbolicLinkToEtcPasswd() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            #expect(symlink("/etc/passwd", directory.appending("passwd")) == 0)
            #expect(throws: FileReadRefusal.symbolicLink) {
                try FileSystem.readRegularFile(named: "passwd", inDirectory: directory.path, maxBytes: 1 << 20)
            }
        }
    }

    @Test func neverOpensTheTargetOfALink() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let target = directory.appending("target")
            try writeTestFile(target, "secret")
            #expect(symlink(target, directory.appending("link")) == 0)
            // inotify's IN_OPEN on the target is the witness: the kernel reports every open of it.
            let witness = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            try #require(witness >= 0)
            defer { close(witness) }
            try #require(inotify_add_watch(witness, target, UInt32(IN_OPEN) | UInt32(IN_ACCESS)) >= 0)
            #expect(throws: FileReadRefusal.symbolicLink) {
                try FileSystem.readRegularFile(named: "link", inDirectory: directory.path, maxBytes: 1024)
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { read(witness, $0.baseAddress, $0.count) }
            #expect(count == -1 && errno == EAGAIN, "the link's target was opened")
            // The witness works: a real open is seen.
            _ = try readTestFile(target)
            let seen = buffer.withUnsafeMutableBytes { read(witness, $0.baseAddress, $0.count) }
            #expect(seen > 0)
        }
    }

    @Test func refusesASymbolicLinkToAFIFOWithoutBlocking() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let fifoPath = directory.appending("target-fifo")
            #expect(mkfifo(fifoPath, 0o600) == 0)
            #expect(symlink(fifoPath, directory.appending("link")) == 0)
            #expect(throws: FileReadRefusal.symbolicLink) {
                try FileSystem.readRegularFile(named: "link", inDirectory: directory.path, maxBytes: 1024)
            }
        }
    }

    @Test func refusesAFIFOWithoutBlocking() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let fifoPath = directory.appending("pipe")
            #expect(mkfifo(fifoPath, 0o600) == 0)
            let outcome = Mutex<FileReadRefusal?>(nil)
            let done = Atomic<Bool>(false)
            let path = directory.path
            let reader = Task.detached {
                do throws(FileReadRefusal) {
                    _ = try FileSystem.readRegularFile(named: "pipe", inDirectory: path, maxBytes: 1024)
                } catch {
                    outcome.withLock { $0 = error }
                }
                done.store(true, ordering: .sequentiallyConsistent)
            }
            let finished = await eventually(within: 5) { done.load(ordering: .sequentiallyConsistent) }
            if !finished {
                // Bound the test: a writer releases a reader stuck in open or read.
                let writer = open(fifoPath, O_RDWR | O_NONBLOCK)
                if writer >= 0 { close(writer) }
            }
            await reader.value
            #expect(finished, "reading a FIFO must not block")
            #expect(outcome.withLock { $0 } == .notRegularFile(.fifo))
        }
    }

    @Test func refusesADirectory() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            #expect(mkdir(directory.appending("sub"), 0o700) == 0)
            #expect(throws: FileReadRefusal.notRegularFile(.directory)) {
                try FileSystem.readRegularFile(named: "sub", inDirectory: directory.path, maxBytes: 1024)
            }
        }
    }

    @Test func refusesASocketWithoutOpeningIt() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let socketPath = directory.appending("sock")
            let server = try BoundDatagramSocket(path: socketPath)
            defer { server.close() }
            #expect(throws: FileReadRefusal.notRegularFile(.socket)) {
                try FileSystem.readRegularFile(named: "sock", inDirectory: directory.path, maxBytes: 1024)
            }
        }
    }

    @Test func refusesACharacterDevice() throws {
        #expect(throws: FileReadRefusal.notRegularFile(.characterDevice)) {
            try FileSystem.readRegularFile(named: "null", inDirectory: "/dev", maxBytes: 1024)
        }
    }

    @Test func refusesAnOversizedFileBySizeAlone() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("big")
            try writeTestFile(path, "")
            // A sparse 1 TiB file: reading it would be absurd, so only the size can have been used.
            #expect(truncate(path, 1 << 40) == 0)
            #expect(throws: FileReadRefusal.tooLarge(size: 1 << 40, limit: 1024)) {
                try FileSystem.readRegularFile(named: "big", inDirectory: directory.path, maxBytes: 1024)
            }
            try writeTestFile(path, "12345")
            #expect(throws: FileReadRefusal.tooLarge(size: 5, limit: 4)) {
                try FileSystem.readRegularFile(named: "big", inDirectory: directory.path, maxBytes: 4)
            }
        }
    }

    @Test func reportsAVanishedFileAsNotFound() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("taken"), "x")
            #expect(unlink(directory.appending("taken")) == 0)
            #expect(throws: FileReadRefusal.notFound) {
                try FileSystem.readRegularFile(named: "taken", inDirectory: directory.path, maxBytes: 1024)
            }
        }
    }

    @Test func refusesAFileThatGrowsDuringTheRead() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("growing")
            try writeTestFile(path, "first part")
            #expect(throws: FileReadRefusal.changedWhileReading) {
                try FileSystem.readRegularFile(named: "growing", inDirectory: directory.path, maxBytes: 1024, followLinks: false) {
                    appendToTestFile(path, " and more")
                }
            }
        }
    }

    @Test func refusesAFileThatShrinksDuringTheRead() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("shrinking")
            try writeTestFile(path, "a whole referral")
            #expect(throws: FileReadRefusal.changedWhileReading) {
                try FileSystem.readRegularFile(named: "shrinking", inDirectory: directory.path, maxBytes: 1024, followLinks: false) {
                    _ = truncate(path, 3)
                }
            }
        }
    }

    @Test func refusesAFileRewrittenInPlaceAtTheSameSize() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("rewritten")
            try writeTestFile(path, "version-1")
            // Backdate it so the rewrite's mtime differs even within one clock tick.
            var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
            #expect(throws: FileReadRefusal.changedWhileReading) {
                try FileSystem.readRegularFile(named: "rewritten", inDirectory: directory.path, maxBytes: 1024, followLinks: false) {
                    let descriptor = open(path, O_WRONLY | O_CLOEXEC)
                    _ = pwrite(descriptor, "version-2", 9, 0)
                    close(descriptor)
                }
            }
        }
    }

    @Test func refusesAProcFileWhoseSizeSaysZero() throws {
        // /proc files are "regular" with st_size 0 but have content: EOF is not where fstat said.
        #expect(throws: FileReadRefusal.changedWhileReading) {
            try FileSystem.readRegularFile(named: "status", inDirectory: "/proc/self", maxBytes: 1 << 20)
        }
    }

    @Test func refusesNamesThatAreNotASingleComponent() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            #expect(mkdir(directory.appending("sub"), 0o700) == 0)
            try writeTestFile(directory.appending("sub/file"), "x")
            for name in ["sub/file", "..", ".", "", "a\0b"] {
                let refusal = #expect(throws: FileReadRefusal.self) {
                    try FileSystem.readRegularFile(named: name, inDirectory: directory.path, maxBytes: 1024)
                }
                guard case .system(let error)? = refusal else {
                    Issue.record("expected a system refusal for \(name.debugDescription), got \(String(describing: refusal))")
                    continue
                }
                #expect(error.errno == EINVAL)
                #expect(error.call == "openat")
            }
        }
    }

    @Test func aMissingDirectoryIsASystemErrorNamingIt() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let missing = directory.appending("absent")
            let refusal = #expect(throws: FileReadRefusal.self) {
                try FileSystem.readRegularFile(named: "x", inDirectory: missing, maxBytes: 10)
            }
            #expect(refusal == .system(SystemError(call: "open", errno: ENOENT, path: missing)))
        }
    }

    @Test func refusalsDescribeThemselvesWithoutContent() {
        #expect(FileReadRefusal.notRegularFile(.fifo).description == "not a regular file (fifo)")
        #expect(FileReadRefusal.tooLarge(size: 10, limit: 5).description == "too large (10 bytes, limit 5)")
        #expect(FileReadRefusal.system(SystemError(call: "read", errno: EIO, path: "/x")).description
            == "read(/x): Input/output error (errno 5)")
    }
}

/// O_APPEND write with plain POSIX calls.
func appendToTestFile(_ path: String, _ text: String) {
    let descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}
