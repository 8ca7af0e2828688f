import LinuxSystem
import Logging

/// One journal entry per log line, through journald's native protocol (`JournalWriter`), used when
/// stderr is the journal. Each entry carries MESSAGE (the sentence, then the metadata as
/// `key=value` so plain `journalctl` output says which referral), PRIORITY from the level,
/// SYSLOG_IDENTIFIER, a fixed MESSAGE_ID for pipeline events and lifecycle lines (`MessageID`),
/// CODE_FILE/CODE_LINE/CODE_FUNC, and every metadata key as an upper-cased field (REFERRAL_ID,
/// AGENCY, DESTINATION, RULE, OUTCOME, ATTEMPT, HTTP_STATUS, CODE, STAGE, ...), so operators can
/// filter with `journalctl REFERRAL_ID=...`.
///
/// Metadata carries identifiers, codes and numbers only (see `LogKey`), never personal data; this
/// handler adds nothing from a referral. If journald cannot be reached the line goes to stderr
/// instead, so it is not lost.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    /// SYSLOG_IDENTIFIER of every entry.
    public let identifier: String
    private let writer: JournalWriter
    /// Where a line goes when journald cannot take it: plain lines on stderr unless told otherwise.
    private let fallback: any LogHandler

    public init(writer: JournalWriter, identifier: String = "referral-router", label: String, level: Logger.Level,
                fallback: (any LogHandler)? = nil) {
        self.writer = writer
        self.identifier = identifier
        self.logLevel = level
        self.fallback = fallback ?? StderrLogHandler(label: label, level: level)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        let fields = Self.entry(level: event.level, message: "\(event.message)", metadata: merged, identifier: identifier,
                                file: event.file, function: event.function, line: event.line)
        do {
            try writer.send(fields)
        } catch {
            var line = event
            line.metadata = merged
            fallback.log(event: line)
        }
    }

    /// The fields of one entry, in the order they are sent.
    static func entry(level: Logger.Level, message: String, metadata: Logger.Metadata, identifier: String,
                      file: String, function: String, line: UInt) -> [(name: String, value: String)] {
        let keys = metadata.keys.sorted()
        var text = message
        for key in keys {
            text += " \(key)=\(quoted(metadata[key].map { "\($0)" } ?? ""))"
        }
        var fields: [(name: String, value: String)] = [
            ("MESSAGE", text),
            ("PRIORITY", String(priority(level))),
            ("SYSLOG_IDENTIFIER", identifier),
        ]
        if let id = MessageID(metadata: metadata) {
            fields.append(("MESSAGE_ID", id.id))
        }
        fields.append(("CODE_FILE", file))
        fields.append(("CODE_LINE", String(line)))
        fields.append(("CODE_FUNC", function))
        for key in keys {
            guard let name = fieldName(forMetadataKey: key), let value = metadata[key] else { continue }
            fields.append((name, "\(value)"))
        }
        return fields
    }

    /// syslog(3) priorities: swift-log's seven levels onto journald's eight (trace and debug share 7).
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// Fields journald or journalctl give a meaning of their own; a metadata key that would land on
    /// one (`priority` of a referral, say) is sent as REFERRAL_<NAME> instead.
    static let reservedFieldNames: Set<String> = [
        "MESSAGE", "MESSAGE_ID", "PRIORITY", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERRNO", "TID",
        "INVOCATION_ID", "USER_INVOCATION_ID", "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "SYSLOG_PID",
        "SYSLOG_TIMESTAMP", "SYSLOG_RAW", "DOCUMENTATION", "UNIT", "USER_UNIT", "OBJECT_PID",
    ]

    /// A metadata key as a journal field name: upper-cased, anything outside [A-Z0-9_] turned into
    /// "_", REFERRAL_ put in front of a reserved name or one journald would refuse (a leading "_" or
    /// digit), at most 64 characters. Nil for an empty key.
    static func fieldName(forMetadataKey key: String) -> String? {
        var name = String(key.uppercased().unicodeScalars.map { scalar -> Character in
            switch scalar {
            case "A"..."Z", "0"..."9", "_": Character(scalar)
            default: "_"
            }
        })
        guard let first = name.first else { return nil }
        if first == "_" || first.isNumber || reservedFieldNames.contains(name) {
            name = "REFERRAL_" + name
        }
        return String(name.prefix(64))
    }

    private static func quoted(_ value: String) -> String {
        guard value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) else { return value }
        var escaped = ""
        for character in value {
            if character == "\"" { escaped += "\\" }
            escaped.append(character)
        }
        return "\"" + escaped + "\""
    }
}
