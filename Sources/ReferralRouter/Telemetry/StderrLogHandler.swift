import Foundation
import Logging
import Synchronization

/// One line per event on stderr: `<time> <level> <message> key=value ...`. Used when stderr is not
/// the journal. Metadata carries identifiers and codes only (see `LogKey`).
public struct StderrLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private static let lock = Mutex(())

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        var text = "\(Timestamp.now().rfc3339) \(event.level.rawValue.uppercased()) \(event.message)"
        for key in merged.keys.sorted() {
            text += " \(key)=\(Self.quote(merged[key].map { "\($0)" } ?? ""))"
        }
        text += "\n"
        Self.lock.withLock { _ in
            FileHandle.standardError.write(Data(text.utf8))
        }
    }

    private static func quote(_ value: String) -> String {
        value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? "\"" + value.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : value
    }
}
