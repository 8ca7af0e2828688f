import Foundation
import TestSupport

/// A command-line tool run to completion with a bounded wait: its exit status and what it printed.
/// Output goes to temporary files, not pipes, so a large `journalctl` export cannot block it.
struct ExternalCommand: Sendable {
    struct Result: Sendable, CustomStringConvertible {
        var arguments: [String]
        var status: Int32
        var output: String
        var errors: String
        var succeeded: Bool { status == 0 }

        var description: String {
            "`\(arguments.joined(separator: " "))` exited \(status)\n--- stdout\n\(output.suffix(4000))\n--- stderr\n\(errors.suffix(4000))"
        }
    }

    /// Runs `arguments[0]` (a path, or a name looked up on PATH) with the rest as arguments, feeding
    /// `input` on stdin. Kills it and throws if it has not finished within `timeout`.
    @discardableResult
    static func run(_ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:],
                    timeout: Duration = .seconds(60)) async throws -> Result {
        precondition(!arguments.isEmpty, "a command needs at least its name")
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "command")
        defer { TestPaths.removeDirectory(directory) }
        let inputFile = directory + "/stdin", outputFile = directory + "/stdout", errorFile = directory + "/stderr"
        guard FileManager.default.createFile(atPath: inputFile, contents: Data(input)),
              FileManager.default.createFile(atPath: outputFile, contents: nil),
              FileManager.default.createFile(atPath: errorFile, contents: nil),
              let stdin = FileHandle(forReadingAtPath: inputFile),
              let stdout = FileHandle(forWritingAtPath: outputFile),
              let stderr = FileHandle(forWritingAtPath: errorFile)
        else { throw TestSupportError("cannot make the files for \(arguments[0])") }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0].hasPrefix("/") ? arguments[0] : try TestPaths.executable(named: arguments[0]))
        process.arguments = Array(arguments.dropFirst())
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let finished = await waitUntil(timeout: timeout, interval: .milliseconds(20)) { !process.isRunning }
        if !finished {
            kill(process.processIdentifier, SIGKILL)
            _ = await waitUntil(timeout: .seconds(5), interval: .milliseconds(20)) { !process.isRunning }
            throw TestSupportError("`\(arguments.joined(separator: " "))` did not finish within \(timeout)")
        }
        try? stdin.close()
        try? stdout.close()
        try? stderr.close()
        return Result(arguments: arguments, status: process.terminationStatus,
                      output: Self.text(of: outputFile), errors: Self.text(of: errorFile))
    }

    /// A file's bytes as text, invalid UTF-8 replaced (a journal export may hold binary fields).
    private static func text(of path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
}
