import Glibc
import Testing
import LinuxSystem
import TestSupport

@Suite("ServiceNotifier")
struct ServiceNotifierTests {
    /// A unique abstract socket name for this test process and call.
    private func abstractName() -> String {
        "@linuxsystem-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    }

    @Test func sendsReadyAndStatusToAPathSocket() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("notify")
            let systemd = try BoundDatagramSocket(path: path)
            defer { systemd.close() }
            let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": path])
            #expect(notifier.isEnabled)

            #expect(notifier.ready(status: "Watching 3 folders") == nil)
            #expect(systemd.receive()?.bytes == Array("READY=1\nSTATUS=Watching 3 folders".utf8))
            notifier.ready()
            #expect(systemd.receive()?.bytes == Array("READY=1".utf8))
            notifier.stopping()
            #expect(systemd.receive()?.bytes == Array("STOPPING=1".utf8))
            notifier.watchdog()
            #expect(systemd.receive()?.bytes == Array("WATCHDOG=1".utf8))
            notifier.status("two\nlines")
            #expect(systemd.receive()?.bytes == Array("STATUS=two lines".utf8))
            #expect(notifier.notify("EXTEND_TIMEOUT_USEC=5000000") == nil)
            #expect(systemd.receive()?.bytes == Array("EXTEND_TIMEOUT_USEC=5000000".utf8))
        }
    }

    @Test func reloadingCarriesTheMonotonicClock() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appending("notify")
            let systemd = try BoundDatagramSocket(path: path)
            defer { systemd.close() }
            let before = monotonicMicroseconds()
            ServiceNotifier(environment: ["NOTIFY_SOCKET": path]).reloading()
            let after = monotonicMicroseconds()
            let text = String(decoding: try #require(systemd.receive()).bytes, as: UTF8.self)
            let lines = text.split(separator: "\n")
            #expect(lines.first == "RELOADING=1")
            let stamp = try #require(lines.last.flatMap { UInt64($0.dropFirst("MONOTONIC_USEC=".count)) })
            #expect(lines.count == 2 && lines[1].hasPrefix("MONOTONIC_USEC="))
            #expect(before <= stamp && stamp <= after)
        }
    }

    @Test func sendsToAnAbstractSocket() throws {
        let name = abstractName()
        let systemd = try BoundDatagramSocket(path: name)
        defer { systemd.close() }
        let notifier = ServiceNotifier(environment: ["NOTIFY_SOCKET": name])
        #expect(notifier.ready() == nil)
        #expect(systemd.receive()?.bytes == Array("READY=1".utf8))
    }

    @Test func isANoOpWithoutSystemd() {
        let notifier = ServiceNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(notifier.ready() == nil)
        #expect(notifier.notify("READY=1") == nil)
        // A vsock or relative address is not ours to use.
        #expect(!ServiceNotifier(environment: ["NOTIFY_SOCKET": "vsock:2:1234"]).isEnabled)
        #expect(!ServiceNotifier(environment: ["NOTIFY_SOCKET": "@"]).isEnabled)
    }

    @Test func reportsAFailureInsteadOfThrowing() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let missing = directory.appending("no-socket")
            let error = ServiceNotifier(environment: ["NOTIFY_SOCKET": missing]).ready()
            #expect(error == SystemError(call: "sendmsg", errno: ENOENT, path: missing))
            let tooLong = "/" + String(repeating: "x", count: 200)
            #expect(ServiceNotifier(environment: ["NOTIFY_SOCKET": tooLong]).ready()?.errno == ENAMETOOLONG)
        }
    }

    @Test func parsesTheWatchdogInterval() {
        let pid = String(CurrentProcess.pid)
        #expect(ServiceNotifier(environment: ["WATCHDOG_USEC": "30000000"]).watchdogInterval == .seconds(30))
        #expect(ServiceNotifier(environment: ["WATCHDOG_USEC": "1500", "WATCHDOG_PID": pid]).watchdogInterval == .microseconds(1500))
        #expect(ServiceNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
        #expect(ServiceNotifier(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "x"]).watchdogInterval == nil)
        #expect(ServiceNotifier(environment: ["WATCHDOG_USEC": "0"]).watchdogInterval == nil)
        #expect(ServiceNotifier(environment: ["WATCHDOG_USEC": "-5"]).watchdogInterval == nil)
        #expect(ServiceNotifier(environment: ["WATCHDOG_USEC": "soon"]).watchdogInterval == nil)
        #expect(ServiceNotifier(environment: [:]).watchdogInterval == nil)
    }

    @Test func currentProcessAndMonotonicClock() {
        #expect(CurrentProcess.pid == getpid())
        #expect(ProcessInfoExtras.pid == getpid())
        let first = monotonicMicroseconds()
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let second = monotonicMicroseconds()
        let reference = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec / 1000)
        #expect(first <= reference && reference <= second)
    }
}
