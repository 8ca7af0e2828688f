/// `[intake]`: how inbound folders are read.
public struct IntakeSettings: Sendable, Hashable {
    /// Files larger than this are refused unread.
    public var maxFileBytes: Int = 1 << 20
    /// Deepest nesting of arrays/objects accepted in a referral.
    public var maxJSONDepth: Int = 32
    /// At most this many files are committed in one transaction. Throughput barely changes above
    /// ~100 (the benchmark: 64, 128, 256 and 1024 within 10%); memory grows with it.
    public var batchMaxFiles: Int = 128
    /// At most this many waiting files (across all folders) are known in memory at once; the rest stay
    /// in their folders and are listed again when these have been taken. Bounds intake's memory
    /// whatever the backlog (a folder of a million files).
    public var maxWaitingFiles: Int = 4096
    /// A full rescan of every inbound folder runs this often as a safety net behind inotify.
    public var rescanInterval: Duration = .seconds(60)
    /// Below this much free space in the state or spool file system, intake pauses (files stay put).
    public var minFreeBytes: Int = 64 << 20
    /// While paused for disk space or a transient store error, intake retries this often.
    public var pauseRetryInterval: Duration = .seconds(5)
    /// Names ending with these are still being written and are ignored until renamed.
    public var inProgressSuffixes: [String] = [".tmp", ".part"]

    public init() {}
}

/// `[receipts]`: what the sending agency is told.
public struct ReceiptSettings: Sendable, Hashable {
    public var enabled: Bool = true
    /// After a referral's state changes, wait this long before writing its receipt, so changes close
    /// together (accepted, then delivered a moment later) become one write.
    public var coalesce: Duration = .milliseconds(200)
    public init() {}
}

/// `[audit]`: the tamper-evident decision log.
public struct AuditSettings: Sendable, Hashable {
    /// Optional secret that keys the audit hash chain (HMAC-SHA256); without it the chain is plain SHA-256.
    public var hmacKey: SecretReference? = nil
    public init() {}
}

/// `[alerts]`: conditions the router raises on its own, beyond delivery failures.
public struct AlertSettings: Sendable, Hashable {
    /// An immediate referral still undelivered this long after it arrived raises an alert (status,
    /// journal), repeated every `repeatInterval` while it lasts. Peers tell a sender after days.
    public var immediateUndelivered: Duration = .seconds(300)
    public var repeatInterval: Duration = .seconds(300)
    public init() {}
}
