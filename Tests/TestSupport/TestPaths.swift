import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where things are for tests: the package root, its `scripts/` folder, tools on `PATH`,
/// and private temporary directories.
public enum TestPaths {
    /// The package root, found from this file's compile-time path (`Tests/TestSupport/TestPaths.swift`).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `<package root>/scripts`.
    public static var scriptsDirectory: String { packageRoot + "/scripts" }

    /// `<package root>/scripts/test-partner.py`.
    public static var testPartnerScript: String { scriptsDirectory + "/test-partner.py" }

    /// Creates a new directory, mode 0700, under the system temporary directory and returns
    /// its path. Each call gets its own directory, so parallel tests never share one.
    public static func makeTemporaryDirectory(prefix: String = "test") throws(TestSupportError) -> String {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let start = buffer.baseAddress else { return false }
            return mkdtemp(start) != nil  // mkdtemp creates the directory with mode 0700
        }
        guard created else {
            throw TestSupportError("cannot create a temporary directory under \(base): errno \(errno)")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes a directory tree made by `makeTemporaryDirectory`; errors are ignored.
    public static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The first executable called `name` on `PATH` (or in /usr/bin and /bin).
    public static func executable(named name: String) throws(TestSupportError) -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/bin", "/usr/bin", "/bin"]
        for directory in directories where !directory.isEmpty {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestSupportError("\(name) was not found on PATH")
    }
}
