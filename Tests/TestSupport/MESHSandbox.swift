import Foundation
import Synchronization

/// NHS England's `mesh-sandbox` (PyPI) running under uvicorn on 127.0.0.1 with HTTPS from the test
/// PKI, `AUTH_MODE=full` (every request's NHSMESH HMAC is checked against `SHARED_KEY`) and the
/// in-memory store, optionally requiring a client certificate. Its canned mailboxes are X26ABC1,
/// X26ABC2 and X26ABC3, password `password`. The other side of the conversation (sending, reading
/// and acknowledging as a partner would) goes through the PyPI `mesh-client`, in child processes.
///
///     guard await MESHSandbox.unavailableReason == nil else { return }
///     let mesh = try await MESHSandbox.start(pki: pki, directory: temp)
///     let id = try await mesh.send(from: "X26ABC1", to: "X26ABC2", workflowID: "TEST_WORKFLOW", body: bytes)
public final class MESHSandbox: Sendable {
    public static let password = "password"
    public let port: Int
    public let sharedKey: String
    public let pki: TestPKI
    public let directory: String
    public let logFile: String
    public let requiresClientCertificate: Bool
    private let process: Mutex<Process?>

    /// Why the sandbox cannot run here (python3, mesh-sandbox, mesh-client or uvicorn missing), or nil.
    /// scripts/test installs them; without them the MESH tests say so and skip. The check imports the
    /// packages in Python (seconds on a loaded machine): it runs once, on a thread of its own, so no
    /// cooperative thread (and no test's timer) waits for it.
    public static var unavailableReason: String? {
        get async { await availability.value }
    }

    private static let availability = Task<String?, Never> {
        await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            Thread { continuation.resume(returning: checkAvailability()) }.start()
        }
    }

    private static func checkAvailability() -> String? {
        guard let python = try? TestPaths.executable(named: "python3") else { return "python3 is not installed" }
        let check = Process()
        check.executableURL = URL(fileURLWithPath: python)
        check.arguments = ["-c", "import mesh_sandbox.api, mesh_client, uvicorn, requests"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return "python3 cannot be started" }
        check.waitUntilExit()
        return check.terminationStatus == 0 ? nil : "the PyPI packages mesh-sandbox and mesh-client are not installed (scripts/test installs them)"
    }

    /// `https://127.0.0.1:<port>`: the `mesh_url` / `[agency.mesh] url` to configure.
    public var url: String { "https://127.0.0.1:\(port)" }

    /// Starts the sandbox in `directory` (an existing private directory) and waits, at most
    /// `startTimeout`, until it listens.
    public static func start(pki: TestPKI, directory: String, requireClientCertificate: Bool = true,
                             startTimeout: Duration = .seconds(30)) async throws -> MESHSandbox {
        if let reason = await unavailableReason { throw TestSupportError("mesh-sandbox cannot run: \(reason)") }
        let sharedKey = "test-shared-key-" + String(UInt64.random(in: .min ... .max), radix: 16)
        let portFile = directory + "/mesh-sandbox.port"
        let logFile = directory + "/mesh-sandbox.log"
        _ = FileManager.default.createFile(atPath: logFile, contents: nil, attributes: [.posixPermissions: 0o600])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.executable(named: "python3"))
        process.arguments = ["-c", launcher, portFile, pki.serverCertificate, pki.serverKey, requireClientCertificate ? pki.caCertificate : ""]
        var environment = ProcessInfo.processInfo.environment
        environment["AUTH_MODE"] = "full"
        environment["STORE_MODE"] = "memory"
        environment["SHARED_KEY"] = sharedKey
        environment["ENV"] = "local"
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let log = FileHandle(forWritingAtPath: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log?.close()
        let deadline = ContinuousClock.now + startTimeout
        while true {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                let sandbox = MESHSandbox(port: port, sharedKey: sharedKey, pki: pki, directory: directory, logFile: logFile,
                                          requiresClientCertificate: requireClientCertificate, process: process)
                // Listening is not yet serving: wait until a real request is answered.
                while ContinuousClock.now < deadline {
                    if (try? await sandbox.inbox("X26ABC3")) != nil { return sandbox }
                    try await Task.sleep(for: .milliseconds(200))
                }
                sandbox.stop()
                throw TestSupportError("mesh-sandbox did not answer within \(startTimeout): \(sandbox.log.suffix(2000))")
            }
            if !process.isRunning {
                throw TestSupportError("mesh-sandbox exited with \(process.terminationStatus): \((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "")")
            }
            if ContinuousClock.now > deadline {
                process.terminate()
                throw TestSupportError("mesh-sandbox did not listen within \(startTimeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private init(port: Int, sharedKey: String, pki: TestPKI, directory: String, logFile: String, requiresClientCertificate: Bool, process: Process) {
        self.port = port
        self.sharedKey = sharedKey
        self.pki = pki
        self.directory = directory
        self.logFile = logFile
        self.requiresClientCertificate = requiresClientCertificate
        self.process = Mutex(process)
    }

    deinit { stop() }

    public var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    public func stop() {
        guard let process = process.withLock({ current -> Process? in
            defer { current = nil }
            return current
        }) else { return }
        if process.isRunning {
            process.terminate()
            let deadline = ContinuousClock.now + .seconds(5)
            while process.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
    }

    /// Writes the mailbox password and the shared key as files (0600) in `directory`, for
    /// `password = "/…"` and `shared_key = "/…"`; a wrong shared key on request.
    public func writeSecrets(into directory: String, wrongSharedKey: Bool = false) throws -> (password: String, sharedKey: String) {
        let password = directory + "/mesh-password"
        let key = directory + "/mesh-shared-key"
        try Data((Self.password + "\n").utf8).write(to: URL(fileURLWithPath: password))
        try Data(((wrongSharedKey ? "not-the-" : "") + sharedKey + "\n").utf8).write(to: URL(fileURLWithPath: key))
        for path in [password, key] { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path) }
        return (password, key)
    }

    /// The TLS keys for a router talking to this sandbox (trust the test CA; client certificate when required).
    public var tlsKeys: String {
        var text = "ca_file = \"\(pki.caCertificate)\"\n"
        if requiresClientCertificate {
            text += "client_certificate = \"\(pki.clientCertificate)\"\nclient_key = \"\(pki.clientKey)\"\n"
        }
        return text
    }

    // MARK: - A partner's side, through mesh-client

    /// A message as a mailbox owner downloads it.
    public struct Message: Sendable {
        /// The `mex-*` headers, names lower-cased.
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Sends `body` from one mailbox to another; `chunkSize` splits it into chunks. Returns the message id.
    @discardableResult
    public func send(from: String, to: String, workflowID: String, body: [UInt8], localID: String? = nil, subject: String? = nil,
                     checksum: String? = nil, chunkSize: Int? = nil) async throws -> String {
        var command: [String: Any] = ["op": "send", "mailbox": from, "to": to, "workflow": workflowID, "body": Data(body).base64EncodedString()]
        if let localID { command["local_id"] = localID }
        if let subject { command["subject"] = subject }
        if let checksum { command["checksum"] = checksum }
        if let chunkSize { command["chunk_size"] = chunkSize }
        guard let id = try await run(command)["message_id"] as? String else { throw TestSupportError("mesh-client returned no message id") }
        return id
    }

    /// The ids in a mailbox's inbox (messages not yet acknowledged).
    public func inbox(_ mailbox: String) async throws -> [String] {
        guard let ids = try await run(["op": "inbox", "mailbox": mailbox])["messages"] as? [String] else { throw TestSupportError("no inbox listing") }
        return ids
    }

    /// Downloads (every chunk of) a message from `mailbox`'s inbox without acknowledging it.
    public func message(_ id: String, in mailbox: String) async throws -> Message {
        let result = try await run(["op": "download", "mailbox": mailbox, "id": id])
        guard let headers = result["headers"] as? [String: String], let body = (result["body"] as? String).flatMap({ Data(base64Encoded: $0) }) else {
            throw TestSupportError("no message \(id)")
        }
        return Message(headers: headers, body: [UInt8](body))
    }

    public func acknowledge(_ id: String, in mailbox: String) async throws {
        _ = try await run(["op": "ack", "mailbox": mailbox, "id": id])
    }

    /// Puts a non-delivery report (status 14, "not collected") about `linkedMessageID` into
    /// `mailbox`'s inbox, through the sandbox's admin API. Returns the report's message id.
    @discardableResult
    public func nonDeliveryReport(to mailbox: String, linkedMessageID: String, localID: String?, workflowID: String) async throws -> String {
        var command: [String: Any] = ["op": "report", "mailbox": mailbox, "linked": linkedMessageID, "workflow": workflowID]
        if let localID { command["local_id"] = localID }
        guard let id = try await run(command)["message_id"] as? String else { throw TestSupportError("the sandbox made no report") }
        return id
    }

    /// Runs one mesh-client operation in a child python (bounded: 60 s) and returns its JSON answer.
    /// It waits with Task.sleep: a python start takes about a second, and blocking a thread of the
    /// two-thread cooperative pool for that long stalls every other test running in parallel.
    private func run(_ command: [String: Any]) async throws -> [String: Any] {
        var command = command
        command["url"] = url
        command["password"] = Self.password
        command["shared_key"] = sharedKey
        command["ca"] = pki.caCertificate
        if requiresClientCertificate { command["cert"] = [pki.clientCertificate, pki.clientKey] }
        let input = String(decoding: try JSONSerialization.data(withJSONObject: command), as: UTF8.self)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.executable(named: "python3"))
        process.arguments = ["-c", Self.client, input]
        // Output to files, read after exit: nothing can fill a pipe and stall the child.
        let stem = directory + "/mesh-client-" + UUID().uuidString
        defer {
            try? FileManager.default.removeItem(atPath: stem + ".out")
            try? FileManager.default.removeItem(atPath: stem + ".err")
        }
        for name in [stem + ".out", stem + ".err"] {
            _ = FileManager.default.createFile(atPath: name, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        let output = FileHandle(forWritingAtPath: stem + ".out")
        let errors = FileHandle(forWritingAtPath: stem + ".err")
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? output?.close()
        try? errors?.close()
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        if process.isRunning {
            process.terminate()
            throw TestSupportError("mesh-client \(command["op"] ?? "") did not finish within 60 s")
        }
        let data = FileManager.default.contents(atPath: stem + ".out") ?? Data()
        let errorText = (try? String(contentsOfFile: stem + ".err", encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0,
              let result = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestSupportError("mesh-client \(command["op"] ?? "") failed (\(process.terminationStatus)): \(errorText.suffix(2000))")
        }
        return result
    }

    // MARK: - Router configuration and state

    /// `[[agency]]` with an `[agency.mesh]` table draining `mailbox`, by default every second (tests only).
    public func agencyTOML(id: String, mailbox: String, secrets: (password: String, sharedKey: String),
                           acceptedWorkflows: [String] = ["TEST_WORKFLOW"], receiptWorkflow: String? = "TEST_WORKFLOW_ACK",
                           pollIntervalSeconds: Int = 1, extra: String = "") -> String {
        var text = """

            [[agency]]
            id = "\(id)"

            [agency.mesh]
            url = "\(url)"
            mailbox = "\(mailbox)"
            password = "\(secrets.password)"
            shared_key = "\(secrets.sharedKey)"
            accepted_workflow_ids = [\(acceptedWorkflows.map { "\"\($0)\"" }.joined(separator: ", "))]
            poll_interval_seconds = \(pollIntervalSeconds)
            allow_frequent_polling = true

            """
        if let receiptWorkflow {
            text += "receipt_workflow_id = \"\(receiptWorkflow)\"\n"
        } else {
            text += "receipts = \"folder\"\n"
        }
        return text + tlsKeys + extra + "\n"
    }

    /// A `[[destination]]` that sends from `mailbox` to `recipient` over MESH.
    public func destinationTOML(id: String, partnerType: String, format: String, mailbox: String, recipient: String,
                                workflowID: String = "TEST_WORKFLOW", secrets: (password: String, sharedKey: String)) -> String {
        """

        [[destination]]
        id = "\(id)"
        partner_type = "\(partnerType)"
        format = "\(format)"
        transport = "mesh"
        mesh_url = "\(url)"
        mesh_mailbox = "\(mailbox)"
        mesh_password = "\(secrets.password)"
        mesh_shared_key = "\(secrets.sharedKey)"
        mesh_recipient = "\(recipient)"
        mesh_workflow_id = "\(workflowID)"
        \(tlsKeys)
        """
    }

    /// Rows of a read-only query on the router's SQLite database (python's sqlite3), each column as text.
    public static func query(database: String, _ sql: String) throws -> [[String]] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.executable(named: "python3"))
        process.arguments = ["-c", """
            import json, sqlite3, sys
            db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10)
            print(json.dumps([[None if v is None else str(v) for v in row] for row in db.execute(sys.argv[2])]))
            """, database, sql]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let rows = try JSONSerialization.jsonObject(with: data) as? [[Any]] else {
            throw TestSupportError("query failed: \(sql)")
        }
        return rows.map { $0.map { ($0 as? String) ?? "" } }
    }

    /// Binds 127.0.0.1 port 0 itself (so the port is known before uvicorn starts), writes the port,
    /// and serves mesh_sandbox over TLS on that socket.
    private static let launcher = #"""
    import os, socket, ssl, sys
    import uvicorn
    port_file, cert, key, client_ca = sys.argv[1:5]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    options = dict(ssl_certfile=cert, ssl_keyfile=key, log_level="warning", access_log=False)
    if client_ca:
        options.update(ssl_ca_certs=client_ca, ssl_cert_reqs=ssl.CERT_REQUIRED)
    server = uvicorn.Server(uvicorn.Config("mesh_sandbox.api:app", **options))
    server.run(sockets=[sock])
    """#

    /// One mesh-client operation; the command is JSON in argv[1], the answer JSON on stdout.
    private static let client = #"""
    import base64, json, sys
    import requests
    from mesh_client import MeshClient
    c = json.loads(sys.argv[1])
    cert = tuple(c["cert"]) if c.get("cert") else None
    def client():
        return MeshClient(c["url"], c["mailbox"], c["password"], shared_key=c["shared_key"].encode(), cert=cert, verify=c["ca"], max_retries=0)
    op = c["op"]
    if op == "send":
        kwargs = dict(workflow_id=c["workflow"])
        for name in ("local_id", "subject", "checksum"):
            if c.get(name):
                kwargs[name] = c[name]
        with client() as mesh:
            message_id = mesh.send_message(c["to"], base64.b64decode(c["body"]), max_chunk_size=c.get("chunk_size"), **kwargs)
        print(json.dumps({"message_id": message_id}))
    elif op == "inbox":
        with client() as mesh:
            print(json.dumps({"messages": mesh.list_messages()}))
    elif op == "download":
        with client() as mesh:
            message = mesh.retrieve_message(c["id"])
            body = message.read()
            headers = {"mex-" + k.lower(): v for k, v in message.mex_headers()}
            print(json.dumps({"headers": headers, "body": base64.b64encode(body).decode()}))
    elif op == "ack":
        with client() as mesh:
            mesh.acknowledge_message(c["id"])
        print(json.dumps({}))
    elif op == "report":
        payload = {"mailbox_id": c["mailbox"], "code": "14", "description": "Message not collected", "workflow_id": c["workflow"],
                   "linked_message_id": c["linked"], "local_id": c.get("local_id"), "status": "undeliverable"}
        response = requests.post(c["url"] + "/messageexchange/admin/report", json=payload, verify=c["ca"], cert=cert, timeout=30)
        response.raise_for_status()
        print(json.dumps(response.json()))
    """#
}
