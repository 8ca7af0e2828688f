/// Why a file offered for intake was not read. Every case is a reason the router reports; none follows a link.
public enum FileReadRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// Gone before we opened it (e.g. another process took it).
    case notFound
    /// A symbolic link: O_NOFOLLOW refused it (ELOOP) and its target was never opened.
    case symbolicLink
    /// A FIFO, directory, socket or device: never read.
    case notRegularFile(FileKind)
    /// Larger than the limit, judged by size alone: nothing was read.
    case tooLarge(size: Int64, limit: Int)
    /// The size or modification time changed between fstat and the end of the read: still being written.
    case changedWhileReading
    /// Any other failure of a system call.
    case system(SystemError)

    public var description: String {
        switch self {
        case .notFound: "not found"
        case .symbolicLink: "is a symbolic link"
        case .notRegularFile(let kind): "not a regular file (\(kind.rawValue))"
        case .tooLarge(let size, let limit): "too large (\(size) bytes, limit \(limit))"
        case .changedWhileReading: "changed while being read"
        case .system(let error): error.description
        }
    }
}
