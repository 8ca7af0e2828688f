import Foundation

/// What a sandboxed router left behind, read the way an operator would: `referral-router status`,
/// its status.json, and the SQLite database (through python3's sqlite3 module, read-only, so the
/// tests need no SQLite binding of their own).
public struct RouterState: Sendable {
    public let sandbox: RouterSandbox

    public init(sandbox: RouterSandbox) {
        self.sandbox = sandbox
    }

    /// The daemon's status.json, if written.
    public func statusJSON() -> [String: Any]? {
        readJSONObject(sandbox.stateDirectory + "/status.json")
    }

    /// The status.json entry of one destination.
    public func destinationStatus(_ destination: String) -> [String: Any]? {
        (statusJSON()?["destinations"] as? [[String: Any]])?.first { $0["destination"] as? String == destination }
    }

    /// Runs `referral-router status` (with `--json` when asked); returns its exit code and output.
    public func statusCommand(json: Bool = false, environment: [String: String] = [:]) async throws -> (exitCode: Int32?, output: String) {
        let logFile = sandbox.root + "/status-\(UUID().uuidString).out"
        var arguments = ["status", "--config", sandbox.configDirectory]
        if json { arguments.append("--json") }
        let process = try RouterProcess(arguments: arguments, logFile: logFile, environment: environment)
        let code = await process.waitForExit(timeout: .seconds(30))
        return (code, process.log)
    }

    /// Rows of a read-only query on router.sqlite, each column by name (BLOBs as hex text).
    public func query(_ sql: String) throws -> [[String: Any]] {
        let program = """
            import json, sqlite3, sys
            db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
            db.row_factory = sqlite3.Row
            rows = [{k: (r[k].hex() if isinstance(r[k], bytes) else r[k]) for k in r.keys()} for r in db.execute(sys.argv[2])]
            print(json.dumps(rows))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.executable(named: "python3"))
        process.arguments = ["-c", program, sandbox.stateDirectory + "/router.sqlite", sql]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read to the end before waiting: a large answer must not fill the pipe and block the child.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSupportError("query failed: \(errorText)") }
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}

/// Lines of a router log that carry `field=value` (e.g. `code=breaker_open`), optionally only those
/// also carrying every one of `and`.
public func logLines(_ log: String, with field: String, and others: [String] = []) -> [Substring] {
    log.split(separator: "\n").filter { line in
        let words = line.split(separator: " ")
        return ([field] + others).allSatisfy { wanted in words.contains { $0 == wanted } }
    }
}
