import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One request as `scripts/test-partner.py` recorded it.
public struct ReceivedRequest: Sendable, Hashable, Decodable {
    /// Order of arrival across every path of this partner, from 1.
    public var seq: Int
    public var method: String
    /// The URL path, without the query.
    public var path: String
    public var query: String
    /// Header names in lower case; repeated headers joined with ", ".
    public var headers: [String: String]
    public var body: [UInt8]
    /// The status the partner answered; nil when the step sent none (reset, hang).
    public var status: Int?
    /// The step's action ("reset", "stall", "hang"), nil for an ordinary answer.
    public var action: String?
    /// `O=...,CN=...` of the client certificate, nil without mutual TLS.
    public var clientCertSubject: String?
    /// Which TCP connection carried it: one number per accepted connection, from 1.
    public var connection: Int
    /// Seconds since the epoch.
    public var receivedAt: Double

    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    private enum CodingKeys: String, CodingKey {
        case seq, method, path, query, headers, body, bodyBase64, status, action, clientCertSubject, connection, receivedAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        seq = try container.decode(Int.self, forKey: .seq)
        method = try container.decode(String.self, forKey: .method)
        path = try container.decode(String.self, forKey: .path)
        query = try container.decodeIfPresent(String.self, forKey: .query) ?? ""
        headers = try container.decode([String: String].self, forKey: .headers)
        if let text = try container.decodeIfPresent(String.self, forKey: .body) {
            body = Array(text.utf8)
        } else if let encoded = try container.decodeIfPresent(String.self, forKey: .bodyBase64),
                  let data = Data(base64Encoded: encoded) {
            body = Array(data)
        } else {
            body = []
        }
        status = try container.decodeIfPresent(Int.self, forKey: .status)
        action = try container.decodeIfPresent(String.self, forKey: .action)
        clientCertSubject = try container.decodeIfPresent(String.self, forKey: .clientCertSubject)
        connection = try container.decode(Int.self, forKey: .connection)
        receivedAt = try container.decode(Double.self, forKey: .receivedAt)
    }
}

/// `scripts/test-partner.py` running as a child process: an HTTPS endpoint on 127.0.0.1 (or ::1)
/// that records every request and answers from a script. Stopped by `stop()` or on deinit.
///
///     let partner = try TestPartner(pki: pki, directory: temp)
///     // send to partner.url(path: "/referrals")
///     let got = try await partner.waitForRequests(count: 1, path: "/referrals")
public final class TestPartner: Sendable {
    /// Which certificate the partner presents.
    public enum ServerCertificate: Sendable, Hashable {
        /// `serverCertificate`, signed by the test CA.
        case normal
        /// `wrongCAServerCertificate`, signed by an unrelated CA.
        case wrongCA
        /// `expiringServerCertificate`: valid, but ends in `expiringInDays` days.
        case expiring
    }

    /// The port it listens on.
    public let port: Int
    /// The host it listens on (`127.0.0.1` or `::1`).
    public let host: String
    /// Where it writes one JSON file per request.
    public let recordDirectory: String
    /// The script file it re-reads whenever it changes.
    public let scriptFile: String
    /// Its standard output and error (the start-up line, --announce lines, errors).
    public let logFile: String
    private let process: Mutex<Process?>

    /// Starts the partner and waits (at most `startTimeout`) until it listens, sleeping on the
    /// calling thread between checks. From async code prefer `start(...)`, which does not block
    /// a thread of the cooperative pool.
    /// - Parameters:
    ///   - directory: an existing private directory for its records, script, port and log files.
    ///   - script: the initial script JSON (see scripts/test-partner.py); nil for the default 202 answers.
    ///   - announce: pass --announce (lines go to `logFile`).
    public convenience init(
        pki: TestPKI,
        directory: String,
        requireClientCertificate: Bool = false,
        serverCertificate: ServerCertificate = .normal,
        script: String? = nil,
        host: String = "127.0.0.1",
        name: String = "test",
        announce: Bool = false,
        startTimeout: Duration = .seconds(15)
    ) throws {
        let launch = try Launch(pki: pki, directory: directory, requireClientCertificate: requireClientCertificate,
                                serverCertificate: serverCertificate, script: script, host: host, name: name, announce: announce)
        let deadline = ContinuousClock.now + startTimeout
        while true {
            if let port = try launch.port(deadline: deadline, timeout: startTimeout) {
                self.init(launch: launch, port: port)
                return
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Starts the partner and waits (at most `startTimeout`) until it listens, without blocking
    /// a thread. Parameters as for `init`.
    public static func start(
        pki: TestPKI,
        directory: String,
        requireClientCertificate: Bool = false,
        serverCertificate: ServerCertificate = .normal,
        script: String? = nil,
        host: String = "127.0.0.1",
        name: String = "test",
        announce: Bool = false,
        startTimeout: Duration = .seconds(15)
    ) async throws -> TestPartner {
        let launch = try Launch(pki: pki, directory: directory, requireClientCertificate: requireClientCertificate,
                                serverCertificate: serverCertificate, script: script, host: host, name: name, announce: announce)
        let deadline = ContinuousClock.now + startTimeout
        while true {
            if let port = try launch.port(deadline: deadline, timeout: startTimeout) {
                return TestPartner(launch: launch, port: port)
            }
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                terminate(launch.process)
                throw error
            }
        }
    }

    private init(launch: Launch, port: Int) {
        self.port = port
        host = launch.host
        recordDirectory = launch.recordDirectory
        scriptFile = launch.scriptFile
        logFile = launch.logFile
        process = Mutex(launch.process)
    }

    /// A started child and its files, until it has written its port.
    private struct Launch {
        var process: Process
        var host: String
        var recordDirectory: String
        var scriptFile: String
        var logFile: String
        var portFile: String

        init(pki: TestPKI, directory: String, requireClientCertificate: Bool, serverCertificate: ServerCertificate,
             script: String?, host: String, name: String, announce: Bool) throws {
            self.host = host
            recordDirectory = directory + "/records"
            scriptFile = directory + "/script.json"
            logFile = directory + "/partner.log"
            portFile = directory + "/port"
            try TestPartner.writeAtomically(script ?? "{}", to: scriptFile)
            _ = FileManager.default.createFile(atPath: logFile, contents: nil, attributes: [.posixPermissions: 0o600])

            let (certificate, key): (String, String)
            switch serverCertificate {
            case .normal: (certificate, key) = (pki.serverCertificate, pki.serverKey)
            case .wrongCA: (certificate, key) = (pki.wrongCAServerCertificate, pki.wrongCAServerKey)
            case .expiring: (certificate, key) = (pki.expiringServerCertificate, pki.serverKey)
            }
            var arguments = [
                TestPaths.testPartnerScript, "--cert", certificate, "--key", key,
                "--host", host, "--port", "0", "--port-file", portFile,
                "--record-dir", recordDirectory, "--script", scriptFile, "--name", name,
            ]
            if requireClientCertificate { arguments += ["--client-ca", pki.caCertificate] }
            arguments.append(announce ? "--announce" : "--quiet")

            process = Process()
            process.executableURL = URL(fileURLWithPath: try TestPaths.executable(named: "python3"))
            process.arguments = arguments
            process.standardInput = FileHandle.nullDevice
            let log = FileHandle(forWritingAtPath: logFile)
            process.standardOutput = log
            process.standardError = log
            try process.run()
            try? log?.close()
        }

        /// The port once the partner has written it; nil while it is still starting.
        /// Throws (and stops the child) when it died or the deadline passed.
        func port(deadline: ContinuousClock.Instant, timeout: Duration) throws -> Int? {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
               let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return value
            }
            if !process.isRunning {
                let output = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
                throw TestSupportError("test-partner exited with \(process.terminationStatus) before listening: \(output)")
            }
            if ContinuousClock.now > deadline {
                TestPartner.terminate(process)
                throw TestSupportError("test-partner did not listen within \(timeout)")
            }
            return nil
        }
    }

    deinit {
        stop()
    }

    /// `https://127.0.0.1:<port><path>` (IPv6 hosts in brackets).
    public func url(path: String = "/") -> String {
        let authority = host.contains(":") ? "[\(host)]" : host
        return "https://\(authority):\(port)\(path.hasPrefix("/") ? path : "/" + path)"
    }

    /// The recorded requests (of one URL path, or all), in order of arrival.
    public func received(path: String? = nil) throws -> [ReceivedRequest] {
        let manager = FileManager.default
        var directories: [String]
        if let path {
            directories = [recordDirectory + "/" + Self.sanitise(path)]
        } else {
            directories = ((try? manager.contentsOfDirectory(atPath: recordDirectory)) ?? []).map { recordDirectory + "/" + $0 }
        }
        var requests: [ReceivedRequest] = []
        let decoder = JSONDecoder()
        for directory in directories {
            guard let names = try? manager.contentsOfDirectory(atPath: directory) else { continue }
            for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
                let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
                let request = try decoder.decode(ReceivedRequest.self, from: data)
                if path == nil || request.path == path { requests.append(request) }
            }
        }
        return requests.sorted { $0.seq < $1.seq }
    }

    /// Waits until at least `count` requests (of `path`, or all) are recorded, polling every 20 ms;
    /// throws if they have not arrived within `timeout`.
    @discardableResult
    public func waitForRequests(count: Int, path: String? = nil, timeout: Duration = .seconds(10)) async throws -> [ReceivedRequest] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let requests = try received(path: path)
            if requests.count >= count { return requests }
            if ContinuousClock.now > deadline {
                throw TestSupportError("only \(requests.count) of \(count) requests arrived within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Replaces the script (the partner re-reads the file on its next request; step counters restart).
    public func setScript(_ json: String) throws {
        try Self.writeAtomically(json, to: scriptFile)
    }

    /// What the partner printed so far (start-up line, --announce lines, errors).
    public func output() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    /// SIGTERM, wait up to 5 s, then SIGKILL. Idempotent.
    public func stop() {
        let child = process.withLock { current -> Process? in
            defer { current = nil }
            return current
        }
        if let child { Self.terminate(child) }
    }

    fileprivate static func terminate(_ child: Process) {
        guard child.isRunning else { return }
        child.terminate()
        let deadline = ContinuousClock.now + .seconds(5)
        while child.isRunning, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        if child.isRunning {
            kill(child.processIdentifier, SIGKILL)
            let killDeadline = ContinuousClock.now + .seconds(5)
            while child.isRunning, ContinuousClock.now < killDeadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }

    /// The record sub-directory test-partner.py uses for a path.
    static func sanitise(_ path: String) -> String {
        let stripped = path.drop(while: { $0 == "/" })
        if stripped.isEmpty { return "_root" }
        let mapped = stripped.unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": Character(scalar)
            default: "_"
            }
        }
        return String(mapped.prefix(200))
    }

    fileprivate static func writeAtomically(_ text: String, to path: String) throws {
        let temporary = path + ".\(UInt32.random(in: .min ... .max)).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw TestSupportError("cannot write \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw TestSupportError("cannot rename onto \(path): errno \(code)")
        }
    }
}
