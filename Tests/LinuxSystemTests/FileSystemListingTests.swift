import Glibc
import Testing
@testable import LinuxSystem
import TestSupport

@Suite("FileSystem listings and metadata")
struct FileSystemListingTests {
    @Test func listsEveryKindExcludingDotEntries() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("regular.json"), "{}")
            #expect(symlink("/etc/passwd", directory.appending("link")) == 0)
            #expect(mkfifo(directory.appending("fifo"), 0o600) == 0)
            #expect(mkdir(directory.appending("sub"), 0o700) == 0)
            let socket = try BoundDatagramSocket(path: directory.appending("sock"))
            defer { socket.close() }

            let entries = try FileSystem.listDirectory(directory.path)
            let kinds = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.kind) })
            #expect(kinds == [
                "regular.json": .regular, "link": .symlink, "fifo": .fifo, "sub": .directory, "sock": .socket,
            ])
        }
    }

    @Test func listsAnEmptyDirectoryAsEmpty() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            #expect(try FileSystem.listDirectory(directory.path).isEmpty)
        }
    }

    @Test func aBoundedListingStopsAtTheLimit() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            for index in 0..<10 { try writeTestFile(directory.appending("f\(index)"), "x") }
            #expect(try FileSystem.listDirectory(directory.path, maximumEntries: 4).count == 4)
            #expect(try FileSystem.listDirectory(directory.path, maximumEntries: 100).count == 10)
        }
    }

    /// Names the caller skips (files still being written, files already taken) never use up the limit,
    /// so a folder full of them cannot hide the files behind them.
    @Test func skippedNamesDoNotCountTowardsTheLimit() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            for index in 0..<20 { try writeTestFile(directory.appending("busy\(index).tmp"), "x") }
            for index in 0..<3 { try writeTestFile(directory.appending("ready\(index).json"), "x") }
            let listed = try FileSystem.listDirectory(directory.path, maximumEntries: 2) { !$0.hasSuffix(".tmp") }
            #expect(listed.count == 2)
            #expect(listed.allSatisfy { $0.name.hasPrefix("ready") })
            #expect(try FileSystem.listDirectory(directory.path, maximumEntries: 10) { !$0.hasSuffix(".tmp") }.count == 3)
        }
    }

    @Test func listingAMissingOrNonDirectoryPathFailsNamingIt() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            #expect(throws: SystemError(call: "opendir", errno: ENOENT, path: directory.appending("none"))) {
                try FileSystem.listDirectory(directory.appending("none"))
            }
            try writeTestFile(directory.appending("file"), "x")
            #expect(throws: SystemError(call: "opendir", errno: ENOTDIR, path: directory.appending("file"))) {
                try FileSystem.listDirectory(directory.appending("file"))
            }
        }
    }

    @Test func kindUsesLstat() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            #expect(symlink(directory.path, directory.appending("link")) == 0)
            #expect(FileSystem.kind(of: directory.appending("link")) == .symlink)
            #expect(FileSystem.kind(of: directory.path) == .directory)
            #expect(FileSystem.kind(of: "/dev/null") == .characterDevice)
            #expect(FileSystem.kind(of: directory.appending("absent")) == nil)
        }
    }

    @Test func identityChangesWithContentAndNamesTheFile() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("f")
            try writeTestFile(path, "1")
            let first = try FileSystem.identity(of: path)
            var status = stat()
            try #require(lstat(path, &status) == 0)
            #expect(first.inode == UInt64(status.st_ino))
            #expect(first.device == UInt64(status.st_dev))
            #expect(first.size == 1)
            #expect(first.modifiedNanoseconds == Int64(status.st_mtim.tv_sec) * 1_000_000_000 + Int64(status.st_mtim.tv_nsec))
            appendToTestFile(path, "23")
            #expect(try FileSystem.identity(of: path).size == 3)
            #expect(throws: SystemError(call: "lstat", errno: ENOENT, path: directory.appending("none"))) {
                try FileSystem.identity(of: directory.appending("none"))
            }
        }
    }
}
