import Logging

/// The fixed journal MESSAGE_ID of each kind of log entry, so operators can find every entry of a
/// kind (`journalctl MESSAGE_ID=...`) and `journalctl -x` can show the explanation in
/// systemd/referral-router.catalog. Never change an id once shipped: saved searches and the
/// installed catalog depend on it; add a new case instead.
public enum MessageID: CaseIterable, Sendable {
    // Pipeline events (`PipelineEvent.name`, metadata key `event`).
    case received
    case rejected
    case duplicate
    case routed
    case delivered
    case retry
    case deadLettered
    case alert
    // Lifecycle lines (metadata key `code`).
    case started
    case stopped
    case reloaded
    case reloadRefused
    case startRefused

    /// 128 bits as 32 lower-case hex digits, the form journald and catalog files use.
    public var id: String {
        switch self {
        case .received: "89a85d4243d9458392445461bd182b91"
        case .rejected: "bef0ed08b51742149fed700568ff8e3a"
        case .duplicate: "20b2869024be48278f0be83d2302467a"
        case .routed: "b520a43533d940e7a07f9ea185c466b8"
        case .delivered: "2b898d3b2f864de69bcdd12f3e8427fb"
        case .retry: "6b1da96acbf34b558a983c6ad440026b"
        case .deadLettered: "79bcd808248146d9b7fd0225cb519543"
        case .alert: "75b35fc7107e491f90223ece05a76e1e"
        case .started: "817236bf87cc48fca9aab8619b1c64cb"
        case .stopped: "ec5984c1f3354c0baf77a565b616372c"
        case .reloaded: "22437a3e4ed7400ebc07b3969c8b1b0b"
        case .reloadRefused: "363dd27d3258484181b31f468af89d48"
        case .startRefused: "f7da540099314faca9ec61eb80402431"
        }
    }

    /// The pipeline event name (`PipelineEvent.name`) this id stands for, or nil for a lifecycle id.
    public var eventName: String? {
        switch self {
        case .received: "received"
        case .rejected: "rejected"
        case .duplicate: "duplicate"
        case .routed: "routed"
        case .delivered: "delivered"
        case .retry: "retry"
        case .deadLettered: "dead-lettered"
        case .alert: "alert"
        case .started, .stopped, .reloaded, .reloadRefused, .startRefused: nil
        }
    }

    /// The `code` metadata value of the lifecycle line this id stands for, or nil for an event id.
    public var lifecycleCode: String? {
        switch self {
        case .started: "started"
        case .stopped: "stopped"
        case .reloaded: "reloaded"
        case .reloadRefused: "reload_refused"
        case .startRefused: "configuration"
        case .received, .rejected, .duplicate, .routed, .delivered, .retry, .deadLettered, .alert: nil
        }
    }

    /// The id of a log entry: its pipeline `event` first, else its lifecycle `code`; nil for the
    /// many lines that are neither (they are still logged, without a MESSAGE_ID).
    public init?(metadata: Logger.Metadata) {
        if let event = metadata[LogKey.event].map({ "\($0)" }),
           let match = Self.allCases.first(where: { $0.eventName == event }) {
            self = match
            return
        }
        if let code = metadata[LogKey.code].map({ "\($0)" }),
           let match = Self.allCases.first(where: { $0.lifecycleCode == code }) {
            self = match
            return
        }
        return nil
    }
}
