import FoundationEssentials
import Glibc

/// sd_notify(3) implemented directly: one datagram to $NOTIFY_SOCKET (a path, or an abstract
/// "@name"). A no-op without systemd.
///
/// Notification is best effort: failures are returned for the caller to log, never thrown, and a
/// missing systemd is not a failure.
public struct ServiceNotifier: Sendable {
    /// $NOTIFY_SOCKET when it names a Unix socket ("/path" or "@abstract"); nil otherwise.
    public let socketAddress: String?
    /// From $WATCHDOG_USEC, honouring $WATCHDOG_PID.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let address = environment["NOTIFY_SOCKET"], address.hasPrefix("/") || (address.hasPrefix("@") && address.count > 1) {
            socketAddress = address
        } else {
            socketAddress = nil
        }
        watchdogInterval = Self.watchdogInterval(environment, pid: CurrentProcess.pid)
    }

    /// True when $NOTIFY_SOCKET names a socket to notify.
    public var isEnabled: Bool { socketAddress != nil }

    /// Sends `state`, e.g. "READY=1\nSTATUS=Watching 3 folders", as one datagram. Returns the error
    /// if it could not be sent; nil when sent or when there is no systemd to tell.
    @discardableResult
    public func notify(_ state: String) -> SystemError? {
        guard let socketAddress else { return nil }
        do {
            let address = try UnixSocketAddress(socketAddress)
            let socket = try UnixDatagramSocket()
            try socket.send(Array(state.utf8), to: address)
            return nil
        } catch {
            return error
        }
    }

    /// "READY=1", with "STATUS=" when given.
    @discardableResult
    public func ready(status: String? = nil) -> SystemError? {
        var state = "READY=1"
        if let status { state += "\nSTATUS=" + Self.singleLine(status) }
        return notify(state)
    }

    /// "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC µs>": systemd (Type=notify-reload) needs the
    /// timestamp to tell this reload from an earlier one. Send `ready()` when the reload is done.
    @discardableResult
    public func reloading() -> SystemError? {
        notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds())")
    }

    /// "STOPPING=1".
    @discardableResult
    public func stopping() -> SystemError? { notify("STOPPING=1") }

    /// "WATCHDOG=1": the main loop is alive.
    @discardableResult
    public func watchdog() -> SystemError? { notify("WATCHDOG=1") }

    /// "STATUS=<text>", newlines turned into spaces so the text cannot set other variables.
    @discardableResult
    public func status(_ text: String) -> SystemError? { notify("STATUS=" + Self.singleLine(text)) }

    /// sd_watchdog_enabled(3): $WATCHDOG_USEC as a duration, if positive and, when $WATCHDOG_PID is
    /// set, only if it names `pid`.
    static func watchdogInterval(_ environment: [String: String], pid: Int32) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0,
              microseconds <= UInt64(Int64.max)
        else { return nil }
        if let pidText = environment["WATCHDOG_PID"] {
            guard let watchdogPID = Int32(pidText), watchdogPID == pid else { return nil }
        }
        return .microseconds(Int64(microseconds))
    }

    private static func singleLine(_ text: String) -> String {
        String(text.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }
}
