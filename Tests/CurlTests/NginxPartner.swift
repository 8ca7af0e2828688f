import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// nginx (Debian's nginx-light) answering 202 over HTTPS with HTTP/2 on 127.0.0.1: the partner
/// for tests that need HTTP/2, which test-partner.py (Python's standard library) cannot speak.
/// Runs in the foreground as a child process, with its own prefix in a temporary directory.
final class NginxPartner {
    let port: Int
    private let process: Process
    private let directory: String

    /// nginx's path, or nil when it is not installed (then HTTP/2 tests are skipped).
    static let executable: String? = ["/usr/sbin/nginx", "/usr/bin/nginx"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    init(pki: TestPKI) throws {
        guard let executable = Self.executable else { throw TestSupportError("nginx is not installed") }
        directory = try TestPaths.makeTemporaryDirectory(prefix: "curl-tests-nginx")
        var lastError = ""
        // The free port is found by binding port 0 and closing; another process could take it
        // before nginx binds, so try a few times.
        for _ in 0..<3 {
            let candidate = try Self.freePort()
            let configuration = """
                worker_processes 1;
                daemon off;
                pid \(directory)/nginx.pid;
                error_log \(directory)/error.log warn;
                events { worker_connections 512; }
                http {
                    access_log off;
                    client_body_temp_path \(directory)/body;
                    proxy_temp_path \(directory)/proxy;
                    fastcgi_temp_path \(directory)/fastcgi;
                    uwsgi_temp_path \(directory)/uwsgi;
                    scgi_temp_path \(directory)/scgi;
                    server {
                        listen 127.0.0.1:\(candidate) ssl http2;
                        ssl_certificate \(pki.serverCertificate);
                        ssl_certificate_key \(pki.serverKey);
                        ssl_protocols TLSv1.2 TLSv1.3;
                        keepalive_requests 100000;
                        location / {
                            default_type application/json;
                            return 202 '{"received": true}';
                        }
                    }
                }

                """
            try Data(configuration.utf8).write(to: URL(fileURLWithPath: directory + "/nginx.conf"))
            let child = Process()
            child.executableURL = URL(fileURLWithPath: executable)
            child.arguments = ["-p", directory, "-c", directory + "/nginx.conf", "-e", directory + "/error.log"]
            child.standardInput = FileHandle.nullDevice
            child.standardOutput = FileHandle.nullDevice
            child.standardError = FileHandle.nullDevice
            try child.run()
            if Self.waitUntilListening(port: candidate, process: child) {
                port = candidate
                process = child
                return
            }
            Self.stop(child)
            lastError = (try? String(contentsOfFile: directory + "/error.log", encoding: .utf8)) ?? ""
        }
        TestPaths.removeDirectory(directory)
        throw TestSupportError("nginx did not start: \(lastError)")
    }

    deinit {
        Self.stop(process)
        TestPaths.removeDirectory(directory)
    }

    func url(path: String) -> String { "https://127.0.0.1:\(port)\(path)" }

    private static func stop(_ child: Process) {
        guard child.isRunning else { return }
        // SIGTERM: the master stops its workers, then exits (nginx sets its own signal mask,
        // so an inherited blocked mask does not matter). SIGKILL would orphan the workers.
        kill(child.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(5)
        while child.isRunning, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if child.isRunning { kill(child.processIdentifier, SIGKILL) }
    }

    private static func freePort() throws -> Int {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw TestSupportError("socket failed: errno \(errno)") }
        defer { close(socketDescriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socketDescriptor, generic, length) == 0 && getsockname(socketDescriptor, generic, &length) == 0
            }
        }
        guard bound else { throw TestSupportError("bind failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Polls with plain TCP connects for up to 10 s.
    private static func waitUntilListening(port: Int, process: Process) -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline, process.isRunning {
            let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            close(socketDescriptor)
            if connected { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return false
    }
}
