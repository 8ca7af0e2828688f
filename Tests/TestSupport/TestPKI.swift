import Foundation
import Synchronization

/// A throw-away public key infrastructure made at test time with the `openssl` command:
/// a CA, a server certificate for 127.0.0.1, ::1 and localhost, a client certificate (plain and
/// passphrase-protected key), a second unrelated CA with a server certificate of its own, a server
/// certificate that expires soon, and the SPKI pin of the server key. Keys are EC P-256, so
/// making one takes a fraction of a second. Every property is an absolute file path unless said.
public struct TestPKI: Sendable, Hashable {
    /// The directory holding every file.
    public var directory: String

    /// The test CA's certificate (PEM): the `caFile` a client trusts.
    public var caCertificate: String
    public var caKey: String

    /// Server certificate signed by the CA; SAN IP:127.0.0.1, IP:::1, DNS:localhost.
    public var serverCertificate: String
    public var serverKey: String
    /// `sha256//<base64>` of the server key's SubjectPublicKeyInfo (CURLOPT_PINNEDPUBLICKEY form).
    /// The expiring server certificate uses the same key, so the pin fits both.
    public var serverPin: String

    /// Client certificate signed by the CA (extendedKeyUsage clientAuth).
    public var clientCertificate: String
    public var clientKey: String
    /// The same client key, encrypted (PKCS#8, AES-256) with `clientKeyPassphrase`.
    public var clientKeyEncrypted: String
    /// The passphrase of `clientKeyEncrypted` (the value itself, not a path).
    public var clientKeyPassphrase: String
    /// The client certificate's subject as test-partner.py records it (`O=...,CN=...`).
    public var clientCertificateSubject: String

    /// A second CA that nothing trusts: the "wrong certificate" case.
    public var otherCACertificate: String
    public var otherCAKey: String
    /// A server certificate for the same names, signed by the other CA.
    public var wrongCAServerCertificate: String
    public var wrongCAServerKey: String
    /// `sha256//<base64>` of `wrongCAServerKey`: a pin that does not match the real server.
    public var wrongCAServerPin: String

    /// A server certificate signed by the CA (key `serverKey`) that expires in `expiringInDays` days.
    public var expiringServerCertificate: String
    public var expiringInDays: Int
    /// The notAfter of `expiringServerCertificate`, as openssl reports it.
    public var expiringServerNotAfter: Date

    static let organization = "Referral Router Tests"

    /// Makes the PKI in `directory` (which must exist), with the expiring leaf valid for 7 days.
    public static func make(in directory: String) throws -> TestPKI {
        try make(in: directory, expiringInDays: 7)
    }

    /// Makes the PKI in `directory` (which must exist); the expiring leaf is valid for `expiringInDays` days.
    public static func make(in directory: String, expiringInDays: Int) throws -> TestPKI {
        precondition(expiringInDays >= 1, "a leaf must be valid for at least a day")
        let openssl = try TestPaths.executable(named: "openssl")
        let tool = OpenSSLRunner(executable: openssl, directory: directory)
        func path(_ name: String) -> String { directory + "/" + name }

        try Data(configuration.utf8).write(to: URL(fileURLWithPath: path("openssl.cnf")))
        let passphrase = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        try Data(passphrase.utf8).write(to: URL(fileURLWithPath: path("client.pass")))

        try tool.makeCA(key: "ca.key", certificate: "ca.pem", commonName: "Test CA")
        try tool.makeCA(key: "other-ca.key", certificate: "other-ca.pem", commonName: "Unrelated Test CA")

        try tool.makeLeaf(key: "server.key", certificate: "server.pem", subject: "/O=\(organization)/CN=127.0.0.1",
                          extensions: "server_ext", caKey: "ca.key", caCertificate: "ca.pem", days: 825)
        try tool.makeLeaf(key: "server.key", certificate: "server-expiring.pem", subject: "/O=\(organization)/CN=127.0.0.1",
                          extensions: "server_ext", caKey: "ca.key", caCertificate: "ca.pem", days: expiringInDays,
                          reuseKey: true)
        try tool.makeLeaf(key: "wrong-server.key", certificate: "wrong-server.pem", subject: "/O=\(organization)/CN=127.0.0.1",
                          extensions: "server_ext", caKey: "other-ca.key", caCertificate: "other-ca.pem", days: 825)
        try tool.makeLeaf(key: "client.key", certificate: "client.pem", subject: "/O=\(organization)/CN=test-client",
                          extensions: "client_ext", caKey: "ca.key", caCertificate: "ca.pem", days: 825)
        _ = try tool.run(["pkey", "-in", "client.key", "-aes256", "-passout", "file:client.pass",
                          "-out", "client-encrypted.key"])

        let notAfterText = try tool.run(["x509", "-in", "server-expiring.pem", "-noout", "-enddate"])
        guard let notAfter = parseOpenSSLDate(notAfterText.replacingOccurrences(of: "notAfter=", with: "")) else {
            throw TestSupportError("cannot read the notAfter of the expiring certificate: \(notAfterText)")
        }

        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path(name))
        }

        return TestPKI(
            directory: directory,
            caCertificate: path("ca.pem"), caKey: path("ca.key"),
            serverCertificate: path("server.pem"), serverKey: path("server.key"),
            serverPin: try tool.pin(ofKey: "server.key"),
            clientCertificate: path("client.pem"), clientKey: path("client.key"),
            clientKeyEncrypted: path("client-encrypted.key"), clientKeyPassphrase: passphrase,
            clientCertificateSubject: "O=\(organization),CN=test-client",
            otherCACertificate: path("other-ca.pem"), otherCAKey: path("other-ca.key"),
            wrongCAServerCertificate: path("wrong-server.pem"), wrongCAServerKey: path("wrong-server.key"),
            wrongCAServerPin: try tool.pin(ofKey: "wrong-server.key"),
            expiringServerCertificate: path("server-expiring.pem"), expiringInDays: expiringInDays,
            expiringServerNotAfter: notAfter
        )
    }

    /// Parses openssl's date form, e.g. "Mar  5 12:00:00 2026 GMT".
    public static func parseOpenSSLDate(_ text: String) -> Date? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy 'GMT'"
        return formatter.date(from: words)
    }

    /// Extensions for `openssl req -x509` (CA) and `openssl x509 -req` (leaves).
    private static let configuration = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [ca_ext]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        [server_ext]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature,keyEncipherment
        extendedKeyUsage = serverAuth
        subjectAltName = IP:127.0.0.1,IP:::1,DNS:localhost
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        [client_ext]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = clientAuth
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid

        """
}

/// Runs `openssl` in the PKI directory with a bounded wait.
private struct OpenSSLRunner {
    var executable: String
    var directory: String

    func makeCA(key: String, certificate: String, commonName: String) throws {
        _ = try run(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-config", "openssl.cnf", "-extensions", "ca_ext", "-days", "3650",
                     "-subj", "/O=\(TestPKI.organization)/CN=\(commonName)", "-keyout", key, "-out", certificate])
    }

    func makeLeaf(key: String, certificate: String, subject: String, extensions: String,
                  caKey: String, caCertificate: String, days: Int, reuseKey: Bool = false) throws {
        if !reuseKey {
            _ = try run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        }
        let request = certificate + ".csr"
        _ = try run(["req", "-new", "-key", key, "-config", "openssl.cnf", "-subj", subject, "-out", request])
        _ = try run(["x509", "-req", "-in", request, "-CA", caCertificate, "-CAkey", caKey,
                     "-set_serial", String(UInt64.random(in: 1...UInt64(Int64.max))), "-days", String(days),
                     "-extfile", "openssl.cnf", "-extensions", extensions, "-out", certificate])
        try? FileManager.default.removeItem(atPath: directory + "/" + request)
    }

    func pin(ofKey key: String) throws -> String {
        let der = key + ".spki.der"
        let digest = key + ".spki.sha256"
        _ = try run(["pkey", "-in", key, "-pubout", "-outform", "DER", "-out", der])
        _ = try run(["dgst", "-sha256", "-binary", "-out", digest, der])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + digest))
        guard bytes.count == 32 else { throw TestSupportError("openssl dgst gave \(bytes.count) bytes, not 32") }
        return "sha256//" + bytes.base64EncodedString()
    }

    /// Runs openssl with `arguments` in `directory`; returns its standard output.
    ///
    /// Spawned and reaped directly (posix_spawn, waitpid) rather than through Foundation's `Process`,
    /// whose exit monitoring runs on Dispatch's shared threads: with those busy (a parallel test run),
    /// a finished openssl was seen as still running for more than 30 s.
    func run(_ arguments: [String]) throws -> String {
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard pipe(&output) == 0, pipe(&errors) == 0 else { throw TestSupportError("pipe failed: errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errors[1], 2)
        for descriptor in output + errors { posix_spawn_file_actions_addclose(&actions, descriptor) }
        // GNU env changes directory for openssl, whose paths are relative to the PKI's directory.
        let argv = ["/usr/bin/env", "-C", directory, executable] + arguments
        var cArguments = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArguments, environ)
        close(output[1])
        close(errors[1])
        defer {
            close(output[0])
            close(errors[0])
        }
        guard spawned == 0 else { throw TestSupportError("cannot start openssl: errno \(spawned)") }
        // Bounded: an openssl still running after 60 s is killed, which ends the reads and the wait.
        let finished = Atomic<Bool>(false)
        defer { finished.store(true, ordering: .releasing) }
        let child = pid
        Thread {
            let deadline = ContinuousClock.now + .seconds(60)
            while !finished.load(ordering: .acquiring), ContinuousClock.now < deadline { usleep(50_000) }
            if !finished.load(ordering: .acquiring) { kill(child, SIGKILL) }
        }.start()
        // openssl prints a few lines at most: reading to the end, then reaping, cannot block on a full pipe.
        let standardOutput = String(decoding: Self.readAll(output[0]), as: UTF8.self)
        let standardError = String(decoding: Self.readAll(errors[0]), as: UTF8.self)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let exitCode = (status >> 8) & 0xff
        guard exited, exitCode == 0 else {
            throw TestSupportError("openssl \(arguments.joined(separator: " ")) failed (status \(status)): \(standardError)")
        }
        return standardOutput
    }

    private static func readAll(_ descriptor: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count > 0 {
                bytes += buffer[0..<count]
            } else if count == 0 || errno != EINTR {
                return bytes
            }
        }
    }
}
