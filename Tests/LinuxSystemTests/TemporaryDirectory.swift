import Glibc
import LinuxSystem

/// A fresh directory under /tmp for one test, removed with everything in it afterwards.
struct TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/linuxsystem-test-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw SystemError(call: "mkdtemp", errno: errno) }
        path = String(cString: created)
    }

    func appending(_ name: String) -> String { path + "/" + name }

    func remove() { Self.removeTree(path) }

    /// Depth-first removal; children of a directory are removed before it. Bounded by the tree.
    static func removeTree(_ path: String) {
        if FileSystem.kind(of: path) == .directory {
            _ = chmod(path, 0o700)
            for entry in (try? FileSystem.listDirectory(path)) ?? [] {
                removeTree(path + "/" + entry.name)
            }
            _ = rmdir(path)
        } else {
            _ = unlink(path)
        }
    }
}

/// Runs `body` with a temporary directory that is removed afterwards, whatever happens.
func withTemporaryDirectory<Result>(_ body: (TemporaryDirectory) async throws -> Result) async throws -> Result {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try await body(directory)
}

/// Writes `text` to a new file with plain POSIX calls (not the code under test).
func writeTestFile(_ path: String, _ text: String, mode: mode_t = 0o600) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
    guard descriptor >= 0 else { throw SystemError(call: "open", errno: errno, path: path) }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count else { throw SystemError(call: "write", errno: errno, path: path) }
}

/// The whole file, with plain POSIX calls.
func readTestFile(_ path: String) throws -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw SystemError(call: "open", errno: errno, path: path) }
    defer { close(descriptor) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 { throw SystemError(call: "read", errno: errno, path: path) }
        if count == 0 { return result }
        result += chunk[0..<count]
    }
}

/// Polls `condition` every 10 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 5, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
