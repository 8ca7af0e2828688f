import LinuxSystem
import Logging

/// Chooses where log lines go: the journal's native protocol when stderr is the journal (see
/// `JournalLogHandler`), plain lines on stderr otherwise.
public enum LogHandlers {
    public static func make(label: String, level: Logger.Level) -> any LogHandler {
        if let journal {
            return JournalLogHandler(writer: journal, label: label, level: level)
        }
        return StderrLogHandler(label: label, level: level)
    }

    /// One socket for every logger, made on first use: a writer when systemd connected stderr to
    /// the journal ($JOURNAL_STREAM names stderr), nil otherwise or if the socket cannot be made.
    private static let journal: JournalWriter? = {
        guard JournalWriter.stderrIsJournal() else { return nil }
        return try? JournalWriter()
    }()
}
