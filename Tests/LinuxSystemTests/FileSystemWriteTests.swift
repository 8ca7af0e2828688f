import Glibc
import Testing
@testable import LinuxSystem

@Suite("FileSystem writes, renames and directories")
struct FileSystemWriteTests {
    /// The permission bits of `path` (lstat).
    private func mode(of path: String) -> mode_t {
        var status = stat()
        guard lstat(path, &status) == 0 else { return 0o7777 }
        return status.st_mode & 0o7777
    }

    @Test func writesTheBytesWithMode0600EvenUnderUmaskZero() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("receipt.json")
            // umask is per process; this test only ever narrows what others could see in their temp dirs.
            let previous = umask(0)
            defer { umask(previous) }
            try FileSystem.writeFileAtomically(Array("receipt".utf8), to: path)
            #expect(try readTestFile(path) == Array("receipt".utf8))
            #expect(mode(of: path) == 0o600)
        }
    }

    @Test func theModeIsExactWhateverTheUmask() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("shared.json")
            let previous = umask(0o077)
            defer { umask(previous) }
            try FileSystem.writeFileAtomically(Array("x".utf8), to: path, mode: 0o640)
            #expect(mode(of: path) == 0o640)
        }
    }

    @Test func replacesAnExistingFileAtomically() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("state")
            try writeTestFile(path, "old contents")
            let descriptorOnOld = open(path, O_RDONLY | O_CLOEXEC)
            try #require(descriptorOnOld >= 0)
            defer { close(descriptorOnOld) }
            let oldInode = try FileSystem.identity(of: path).inode

            try FileSystem.writeFileAtomically(Array("new".utf8), to: path)

            #expect(try readTestFile(path) == Array("new".utf8))
            // A new inode took the name: a reader holding the old one still sees the old whole file.
            #expect(try FileSystem.identity(of: path).inode != oldInode)
            var buffer = [UInt8](repeating: 0, count: 64)
            let count = buffer.withUnsafeMutableBytes { pread(descriptorOnOld, $0.baseAddress, $0.count, 0) }
            #expect(Array(buffer[0..<max(count, 0)]) == Array("old contents".utf8))
            #expect(try FileSystem.listDirectory(directory.path).map(\.name) == ["state"])
        }
    }

    @Test func leavesNoTemporaryFileAfterSuccess() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            for index in 0..<20 {
                try FileSystem.writeFileAtomically(Array("\(index)".utf8), to: directory.appending("f\(index % 3)"), syncDirectory: index % 2 == 0)
            }
            try FileSystem.syncDirectory(directory.path)
            #expect(try FileSystem.listDirectory(directory.path).map(\.name).sorted() == ["f0", "f1", "f2"])
        }
    }

    @Test func leavesNoTemporaryFileWhenTheRenameFails() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            // A non-empty directory at the target: the temp file is written and synced, then rename fails.
            let target = directory.appending("occupied")
            #expect(mkdir(target, 0o700) == 0)
            try writeTestFile(target + "/inside", "x")
            let error = #expect(throws: SystemError.self) {
                try FileSystem.writeFileAtomically(Array("data".utf8), to: target)
            }
            #expect(error?.call == "rename")
            #expect(error?.secondPath == target)
            #expect(error?.path?.hasPrefix(directory.appending(".occupied.")) == true)
            #expect(try FileSystem.listDirectory(directory.path).map(\.name) == ["occupied"])
        }
    }

    @Test func failsNamingThePathWhenTheParentIsAFile() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let parent = directory.appending("plain-file")
            try writeTestFile(parent, "x")
            let error = #expect(throws: SystemError.self) {
                try FileSystem.writeFileAtomically(Array("data".utf8), to: parent + "/child")
            }
            #expect(error?.errno == ENOTDIR)
            #expect(error?.path == parent)
            #expect(try FileSystem.listDirectory(directory.path).map(\.name) == ["plain-file"])
        }
    }

    @Test(.enabled(if: geteuid() != 0, "root ignores directory permissions"))
    func leavesNoTemporaryFileInAReadOnlyDirectory() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let readOnly = directory.appending("ro")
            #expect(mkdir(readOnly, 0o500) == 0)
            let error = #expect(throws: SystemError.self) {
                try FileSystem.writeFileAtomically(Array("data".utf8), to: readOnly + "/file")
            }
            #expect(error?.errno == EACCES)
            #expect(try FileSystem.listDirectory(readOnly).isEmpty)
        }
    }

    @Test func temporaryNamesStayWithinNameMax() {
        let long = String(repeating: "é", count: 127)  // 254 bytes
        let name = FileSystem.temporaryName(for: long)
        #expect(name.utf8.count <= 255)
        #expect(name.hasPrefix(".é"))
        #expect(name.hasSuffix(".tmp"))
        #expect(FileSystem.temporaryName(for: "a") != FileSystem.temporaryName(for: "a"))
    }

    @Test func writesALongNamedFile() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let name = String(repeating: "n", count: 255)
            try FileSystem.writeFileAtomically([1, 2, 3], to: directory.appending(name))
            #expect(try readTestFile(directory.appending(name)) == [1, 2, 3])
        }
    }

    @Test func renameNoReplaceRefusesToOverwrite() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let from = directory.appending("incoming")
            let to = directory.appending("existing")
            try writeTestFile(from, "incoming")
            try writeTestFile(to, "existing")
            let error = #expect(throws: SystemError.self) {
                try FileSystem.rename(from, to: to, noReplace: true)
            }
            #expect(error?.errno == EEXIST)
            #expect(error?.path == from)
            #expect(error?.secondPath == to)
            #expect(try readTestFile(to) == Array("existing".utf8))
            #expect(try readTestFile(from) == Array("incoming".utf8))
        }
    }

    @Test func renameNoReplaceMovesWhenTheTargetIsFree() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let from = directory.appending("a")
            try writeTestFile(from, "payload")
            try FileSystem.rename(from, to: directory.appending("b"), noReplace: true)
            #expect(FileSystem.kind(of: from) == nil)
            #expect(try readTestFile(directory.appending("b")) == Array("payload".utf8))
        }
    }

    @Test func theLinkFallbackAlsoRefusesToOverwrite() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let from = directory.appending("a")
            let to = directory.appending("b")
            try writeTestFile(from, "a")
            try writeTestFile(to, "b")
            #expect(throws: SystemError(call: "link", errno: EEXIST, path: from, secondPath: to)) {
                try FileSystem.renameByLinking(from, to: to)
            }
            #expect(try readTestFile(to) == Array("b".utf8))
            #expect(unlink(to) == 0)
            try FileSystem.renameByLinking(from, to: to)
            #expect(try readTestFile(to) == Array("a".utf8))
            #expect(FileSystem.kind(of: from) == nil)
        }
    }

    @Test func plainRenameReplaces() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("a"), "new")
            try writeTestFile(directory.appending("b"), "old")
            try FileSystem.rename(directory.appending("a"), to: directory.appending("b"))
            #expect(try readTestFile(directory.appending("b")) == Array("new".utf8))
            #expect(try FileSystem.listDirectory(directory.path).map(\.name) == ["b"])
        }
    }

    @Test func renameOfAMissingFileNamesBothPaths() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let error = #expect(throws: SystemError.self) {
                try FileSystem.rename(directory.appending("none"), to: directory.appending("x"))
            }
            #expect(error?.isNotFound == true)
            #expect(error?.description == "rename(\(directory.appending("none")), \(directory.appending("x"))): No such file or directory (errno 2)")
        }
    }

    @Test func removeFileReportsWhetherItRemovedSomething() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("done")
            try writeTestFile(path, "x")
            #expect(try FileSystem.removeFile(path) == true)
            #expect(try FileSystem.removeFile(path) == false)
            let error = #expect(throws: SystemError.self) {
                try FileSystem.removeFile(directory.path)  // a directory: EISDIR
            }
            #expect(error?.call == "unlink")
            #expect(error?.path == directory.path)
        }
    }

    @Test func createsDirectoriesWithTheModeWhateverTheUmask() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let previous = umask(0o077)
            defer { umask(previous) }
            let deep = directory.appending("a/b/c")
            try FileSystem.createDirectory(deep, mode: 0o750)
            #expect(FileSystem.kind(of: deep) == .directory)
            #expect(mode(of: directory.appending("a")) == 0o750)
            #expect(mode(of: directory.appending("a/b")) == 0o750)
            #expect(mode(of: deep) == 0o750)
        }
    }

    @Test func anExistingDirectoryIsFineAndKeepsItsMode() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let existing = directory.appending("existing")
            #expect(mkdir(existing, 0o755) == 0)
            #expect(chmod(existing, 0o755) == 0)
            try FileSystem.createDirectory(existing)
            try FileSystem.createDirectory(existing, intermediates: false)
            try FileSystem.createDirectory(existing + "/", mode: 0o700)
            #expect(mode(of: existing) == 0o755)
        }
    }

    @Test func createDirectoryRefusesAFileInTheWay() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("file"), "x")
            let error = #expect(throws: SystemError.self) {
                try FileSystem.createDirectory(directory.appending("file/sub"))
            }
            #expect(error?.errno == ENOTDIR)
            #expect(error?.path == directory.appending("file"))
            #expect(throws: SystemError(call: "mkdir", errno: ENOENT, path: directory.appending("x/y"))) {
                try FileSystem.createDirectory(directory.appending("x/y"), intermediates: false)
            }
        }
    }

    @Test func splitsPathsIntoDirectoryAndName() {
        // Relative paths are exercised here rather than through chdir, which is per process.
        #expect(FileSystem.split("/a/b/c") == ("/a/b", "c"))
        #expect(FileSystem.split("/c") == ("/", "c"))
        #expect(FileSystem.split("c") == (".", "c"))
        #expect(FileSystem.split("./c") == (".", "c"))
        #expect(FileSystem.split("a/b/") == ("a/b", ""))
    }

    @Test func syncsFilesAndDirectoriesAndNamesFailures() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("f"), "x")
            try FileSystem.syncFile(directory.appending("f"))
            try FileSystem.syncDirectory(directory.path)
            #expect(throws: SystemError(call: "open", errno: ENOTDIR, path: directory.appending("f"))) {
                try FileSystem.syncDirectory(directory.appending("f"))
            }
            #expect(throws: SystemError(call: "open", errno: ENOENT, path: directory.appending("missing"))) {
                try FileSystem.syncFile(directory.appending("missing"))
            }
        }
    }

    @Test func reportsAvailableBytes() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let available = try FileSystem.availableBytes(at: directory.path)
            var status = statvfs()
            try #require(statvfs(directory.path, &status) == 0)
            let expected = UInt64(status.f_bavail) * UInt64(status.f_frsize)
            // Other processes write meanwhile: allow 1 GiB of drift.
            #expect(available > 0)
            #expect(available.distance(to: expected).magnitude < 1 << 30)
            #expect(throws: SystemError.self) { try FileSystem.availableBytes(at: directory.appending("none")) }
        }
    }

    @Test func setsPermissions() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            try writeTestFile(directory.appending("f"), "x")
            try FileSystem.setPermissions(directory.appending("f"), mode: 0o640)
            #expect(mode(of: directory.appending("f")) == 0o640)
        }
    }

    @Test func pathsWithNULAreRefused() {
        #expect(throws: SystemError(call: "unlink", errno: EINVAL, path: "/tmp/a\0b")) {
            try FileSystem.removeFile("/tmp/a\0b")
        }
    }
}
