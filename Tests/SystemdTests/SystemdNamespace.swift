import Foundation
import TestSupport

/// The host's systemd running as PID 1 of a private PID, mount, UTS and cgroup namespace
/// (scripts/systemd-test/systemd-namespace), booted on a tree a test laid out under `root`.
/// Commands reach it through `nsenter`. Always end it with `shutDown()`; if a test forgets, deinit
/// kills PID 1, which ends every process in the namespace.
final class SystemdNamespace: Sendable {
    /// The tree it was booted on (units/, sysusers.d/, tmpfiles.d/, etc-overlay/, bin/, var/, ...).
    let root: String
    /// PID 1 of the namespace, as the host numbers it.
    let pid1: Int32
    private let launcher: Process

    /// Why the real-systemd tests cannot run here, or nil when they can.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "needs root: systemd runs as PID 1 of a private namespace" }
        for tool in ["unshare", "nsenter", "setpriv", "systemctl", "journalctl", "systemd-sysusers", "systemd-tmpfiles"] {
            if (try? TestPaths.executable(named: tool)) == nil { return "\(tool) is not installed" }
        }
        guard FileManager.default.isExecutableFile(atPath: "/lib/systemd/systemd") else { return "/lib/systemd/systemd is not installed" }
        guard FileManager.default.isExecutableFile(atPath: script) else { return "\(script) is missing" }
        return nil
    }()

    static var script: String { TestPaths.scriptsDirectory + "/systemd-test/systemd-namespace" }

    private init(root: String, pid1: Int32, launcher: Process) {
        self.root = root
        self.pid1 = pid1
        self.launcher = launcher
    }

    /// Boots systemd on `root` with `target` and waits (bounded) until it answers `systemctl`.
    static func boot(root: String, target: String, timeout: Duration = .seconds(30)) async throws -> SystemdNamespace {
        let logFile = root + "/boot.log"
        guard FileManager.default.createFile(atPath: logFile, contents: nil), let log = FileHandle(forWritingAtPath: logFile) else {
            throw TestSupportError("cannot write \(logFile)")
        }
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: script)
        launcher.arguments = [root, target]
        var environment = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID", "INVOCATION_ID"] {
            environment.removeValue(forKey: name)
        }
        launcher.environment = environment
        launcher.standardInput = FileHandle.nullDevice
        launcher.standardOutput = log
        launcher.standardError = log
        try launcher.run()
        try? log.close()

        // The launcher execs unshare, whose only child becomes PID 1 and then execs systemd.
        let launcherPID = launcher.processIdentifier
        var pid1: Int32?
        let found = await waitUntil(timeout: timeout, interval: .milliseconds(50)) {
            guard let children = try? String(contentsOfFile: "/proc/\(launcherPID)/task/\(launcherPID)/children", encoding: .utf8),
                  let child = children.split(separator: " ").first.flatMap({ Int32($0) }),
                  let name = try? String(contentsOfFile: "/proc/\(child)/comm", encoding: .utf8),
                  name.trimmingCharacters(in: .whitespacesAndNewlines) == "systemd"
            else { return !launcher.isRunning }
            pid1 = child
            return true
        }
        guard found, let pid1 else {
            if launcher.isRunning { kill(launcherPID, SIGKILL) }
            let bootLog = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            throw TestSupportError("systemd did not start in the namespace: \(bootLog.suffix(3000))")
        }
        let namespace = SystemdNamespace(root: root, pid1: pid1, launcher: launcher)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = try? await namespace.run(["systemctl", "is-system-running"], timeout: .seconds(10)),
               !answer.output.isEmpty, !answer.output.contains("offline") {
                return namespace
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        await namespace.shutDown()
        throw TestSupportError("systemd in the namespace did not answer within \(timeout)")
    }

    /// `nsenter -t <PID 1> -m -p <arguments>`: a command inside the namespace (its mounts, PIDs,
    /// /etc with the test's users, /run with the manager's sockets).
    @discardableResult
    func run(_ arguments: [String], input: [UInt8] = [], timeout: Duration = .seconds(60)) async throws -> ExternalCommand.Result {
        try await ExternalCommand.run(["nsenter", "-t", String(pid1), "-m", "-p", "--"] + arguments, input: input, timeout: timeout)
    }

    /// `systemctl show -p NAME --value UNIT`.
    func property(_ name: String, of unit: String) async throws -> String {
        try await run(["systemctl", "show", "-p", name, "--value", unit], timeout: .seconds(15)).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits (bounded) until `condition` holds for the unit's properties, polling every 100 ms.
    /// Returns the last properties read.
    func waitForUnit(_ unit: String, properties: [String], timeout: Duration = .seconds(30),
                     until condition: ([String: String]) -> Bool) async throws -> [String: String] {
        let deadline = ContinuousClock.now + timeout
        var last: [String: String] = [:]
        while true {
            let shown = try await run(["systemctl", "show", unit] + properties.flatMap { ["-p", $0] }, timeout: .seconds(15))
            last = Dictionary(shown.output.split(separator: "\n").compactMap { line -> (String, String)? in
                guard let equals = line.firstIndex(of: "=") else { return nil }
                return (String(line[..<equals]), String(line[line.index(after: equals)...]))
            }, uniquingKeysWith: { _, new in new })
            if condition(last) { return last }
            if ContinuousClock.now > deadline { return last }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Waits (bounded) until `journalctl <arguments>` prints something other than "-- No entries --".
    func waitForJournal(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let result = try await run(["journalctl", "--no-pager", "-q"] + arguments, timeout: .seconds(15))
            let text = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if result.succeeded, !text.isEmpty, !text.hasPrefix("-- No entries --") { return result.output }
            if ContinuousClock.now > deadline { return "" }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    var isRunning: Bool { kill(pid1, 0) == 0 }

    /// `systemctl exit` (every unit stopped, the manager exits), bounded; then SIGKILL to PID 1 if
    /// it is still there, which ends the namespace; then the run's cgroup is removed. Idempotent.
    func shutDown() async {
        if isRunning {
            _ = try? await run(["systemctl", "exit"], timeout: .seconds(15))
            _ = await waitUntil(timeout: .seconds(45), interval: .milliseconds(100)) { !isRunning }
        }
        if isRunning { kill(pid1, SIGKILL) }
        _ = await waitUntil(timeout: .seconds(15), interval: .milliseconds(50)) { !launcher.isRunning }
        if launcher.isRunning { kill(launcher.processIdentifier, SIGKILL) }
        await removeCgroup()
    }

    /// The cgroup the script made for the run (named in root/cgroup), with whatever systemd made
    /// below it: directories only, deepest first, retried while the last processes exit.
    private func removeCgroup() async {
        guard let text = try? String(contentsOfFile: root + "/cgroup", encoding: .utf8) else { return }
        let cgroup = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard cgroup.hasPrefix("/sys/fs/cgroup"), cgroup.contains("/referral-router-test.") else { return }
        _ = await waitUntil(timeout: .seconds(10), interval: .milliseconds(100)) {
            var directories = [cgroup]
            if let enumerator = FileManager.default.enumerator(atPath: cgroup) {
                while let relative = enumerator.nextObject() as? String {
                    var isDirectory: ObjCBool = false
                    if FileManager.default.fileExists(atPath: cgroup + "/" + relative, isDirectory: &isDirectory), isDirectory.boolValue {
                        directories.append(cgroup + "/" + relative)
                    }
                }
            }
            for directory in directories.sorted(by: { $0.count > $1.count }) { rmdir(directory) }
            return !FileManager.default.fileExists(atPath: cgroup)
        }
    }

    deinit {
        if kill(pid1, 0) == 0 { kill(pid1, SIGKILL) }
    }
}
