import Foundation
import Synchronization

/// The built `referral-router` running as a child process, stopped with real signals.
public final class RouterProcess: Sendable {
    public let logFile: String
    private let process: Process
    private let exit = Mutex<Int32?>(nil)

    /// The binary next to the test bundle (SwiftPM builds it for the tests), else .build/debug.
    public static var binary: String {
        let candidates = [
            (CommandLine.arguments.first.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path } ?? "") + "/referral-router",
            TestPaths.packageRoot + "/.build/debug/referral-router",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
    }

    /// Starts `referral-router <arguments>` with output to `logFile`.
    public init(arguments: [String], logFile: String, environment: [String: String] = [:]) throws {
        self.logFile = logFile
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: logFile) else { throw TestSupportError("cannot open \(logFile)") }
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "NOTIFY_SOCKET")
        env.removeValue(forKey: "JOURNAL_STREAM")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        self.process = process
        process.terminationHandler = { [weak self] finished in
            self?.exit.withLock { $0 = finished.terminationStatus }
        }
        try process.run()
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { exit.withLock { $0 } == nil }
    public var exitCode: Int32? { exit.withLock { $0 } }
    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    public func signal(_ signal: Int32) {
        if isRunning { kill(process.processIdentifier, signal) }
    }

    /// Waits (bounded) for the process to exit; returns its status, or nil on timeout.
    @discardableResult
    public func waitForExit(timeout: Duration = .seconds(30)) async -> Int32? {
        _ = await waitUntil(timeout: timeout, interval: .milliseconds(20)) { !isRunning }
        return exitCode
    }

    /// SIGTERM, bounded wait, then SIGKILL.
    @discardableResult
    public func stop(timeout: Duration = .seconds(30)) async -> Int32? {
        signal(SIGTERM)
        if let code = await waitForExit(timeout: timeout) { return code }
        signal(SIGKILL)
        return await waitForExit(timeout: .seconds(5))
    }

    deinit {
        if isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
