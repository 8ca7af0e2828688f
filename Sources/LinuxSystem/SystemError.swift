import Glibc

/// A failed system call: names the call, the path when there is one, and errno.
///
/// The description never contains file contents or secrets, only the call, the path(s) and the
/// C library's text for the errno.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The system call or C library function that failed: "open", "fsync", "rename", ...
    public var call: String
    /// The errno value the call reported.
    public var errno: Int32
    /// The path the call was about, when there is one.
    public var path: String?
    /// The second path of a two-path call (the destination of a rename or link).
    public var secondPath: String?

    public init(call: String, errno: Int32, path: String? = nil, secondPath: String? = nil) {
        self.call = call
        self.errno = errno
        self.path = path
        self.secondPath = secondPath
    }

    /// For example "fsync(/var/spool/x): Input/output error (errno 5)".
    public var description: String {
        let subject: String
        switch (path, secondPath) {
        case let (first?, second?): subject = "(\(first), \(second))"
        case let (first?, nil): subject = "(\(first))"
        case let (nil, second?): subject = "(\(second))"
        case (nil, nil): subject = ""
        }
        return "\(call)\(subject): \(Self.errorText(errno)) (errno \(errno))"
    }

    /// The disk or the quota is full: intake pauses and resumes by itself.
    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
    /// The path does not exist.
    public var isNotFound: Bool { errno == ENOENT }
    /// The device reported an I/O error: callers treat a failed fsync or rename as fatal.
    public var isIOError: Bool { errno == EIO }

    /// glibc's strerror is thread-safe for known errnos (static strings) and, since 2.32, uses a
    /// thread-local buffer for unknown ones.
    static func errorText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "Unknown error" }
        return String(cString: text)
    }
}
