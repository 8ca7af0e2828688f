/// Why the store could not do what was asked. The daemon's reaction depends on the case:
/// `diskFull` and `busy` pause and retry; `fatalIO` stops the daemon (a failed fsync is never retried:
/// PostgreSQL and Vector learnt that the page cache may have dropped the data).
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// SQLITE_FULL or ENOSPC: nothing was committed; try again when there is space.
    case diskFull(String)
    /// SQLITE_IOERR (including a failed fsync) or SQLITE_CORRUPT: stop taking input and exit non-zero.
    case fatalIO(String)
    /// Locked by another process beyond the busy timeout.
    case busy(String)
    /// A record that cannot be decoded: set aside, never a crash loop.
    case corruptRecord(String)
    case other(String)

    public var description: String {
        switch self {
        case .diskFull(let message): "disk full: \(message)"
        case .fatalIO(let message): "I/O error: \(message)"
        case .busy(let message): "database busy: \(message)"
        case .corruptRecord(let message): "corrupt record: \(message)"
        case .other(let message): message
        }
    }

    /// Short stable code for logs and metrics.
    public var code: String {
        switch self {
        case .diskFull: "disk_full"
        case .fatalIO: "fatal_io"
        case .busy: "busy"
        case .corruptRecord: "corrupt_record"
        case .other: "store_error"
        }
    }

    public var isTransient: Bool {
        switch self {
        case .diskFull, .busy: true
        case .fatalIO, .corruptRecord, .other: false
        }
    }
}
