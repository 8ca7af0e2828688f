import Foundation

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

    /// Runs openssl with `arguments`; returns its standard output. Waits at most 30 s.
    func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw TestSupportError("openssl \(arguments.first ?? "") did not finish within 30 s")
            }
            Thread.sleep(forTimeInterval: 0.005)
        }
        // openssl prints a few lines at most, well under a pipe's buffer, so reading after exit is safe.
        let standardOutput = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let standardError = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw TestSupportError("openssl \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(standardError)")
        }
        return standardOutput
    }
}
