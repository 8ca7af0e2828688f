import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP CONNECT proxy on 127.0.0.1 (python3, standard library), for the `proxy` setting: it
/// tunnels only to 127.0.0.1 or ::1, records each tunnel's target, and exits by itself after
/// `lifetime` if nobody stops it.
public final class ConnectProxy: Sendable {
    public let port: Int
    /// `http://127.0.0.1:<port>`, the form router.toml's `proxy` takes.
    public var url: String { "http://127.0.0.1:\(port)" }
    private let process: Process
    private let tunnelLog: String

    public init(directory: String, lifetime: Duration = .seconds(300)) async throws {
        let portFile = directory + "/proxy.port"
        tunnelLog = directory + "/proxy.tunnels"
        _ = FileManager.default.createFile(atPath: tunnelLog, contents: nil, attributes: [.posixPermissions: 0o600])
        process = Process()
        process.executableURL = URL(fileURLWithPath: try TestPaths.executable(named: "python3"))
        process.arguments = ["-c", Self.program, portFile, tunnelLog, String(lifetime.components.seconds)]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                port = value
                return
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                process.terminate()
                throw TestSupportError("the CONNECT proxy did not start")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The `host:port` of every tunnel opened so far, in order.
    public func tunnels() -> [String] {
        ((try? String(contentsOfFile: tunnelLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }

    private static let program = #"""
        import asyncio, os, signal, sys
        port_file, tunnel_log, lifetime = sys.argv[1], sys.argv[2], float(sys.argv[3])

        async def pipe(reader, writer):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    writer.write(data)
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()

        async def handle(reader, writer):
            try:
                request = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1").split()
                while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                    pass
                host, _, port = request[1].rpartition(":") if len(request) >= 2 else ("", "", "")
                host = host.strip("[]")
                if request[0] != "CONNECT" or host not in ("127.0.0.1", "::1") or not port.isdigit():
                    writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    writer.close()
                    return
                with open(tunnel_log, "a") as log:
                    log.write(request[1] + "\n")
                upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
            except (OSError, IndexError, asyncio.TimeoutError):
                writer.close()

        async def main():
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            temporary = port_file + ".tmp"
            with open(temporary, "w") as out:
                out.write("%d\n" % server.sockets[0].getsockname()[1])
            os.replace(temporary, port_file)
            await asyncio.sleep(lifetime)

        asyncio.run(main())
        """#
}
