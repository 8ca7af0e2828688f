import FoundationEssentials
import Glibc

/// journald's native protocol: datagrams to /run/systemd/journal/socket, memfd fallback for large
/// entries. (systemd's "Native Journal Protocol" document.)
///
/// Each `send` is one entry: "NAME=value\n" per field, or for a value containing a newline the
/// binary form "NAME\n" + 64-bit little-endian length + value + "\n". An entry too large for a
/// datagram goes in a sealed memfd whose descriptor is passed with SCM_RIGHTS. Safe to share
/// between threads: each entry is one sendmsg on a connectionless socket.
public struct JournalWriter: Sendable {
    /// journald's limit on field-name length.
    static let maximumFieldNameLength = 64

    private let socket: UnixDatagramSocket
    private let address: UnixSocketAddress
    /// The journal socket this writer sends to.
    public let socketPath: String

    /// True when stderr is the journal: $JOURNAL_STREAM "dev:ino" equals fstat(2)'s st_dev:st_ino.
    /// Then plain stderr lines already reach the journal, and structured entries can be sent instead.
    public static func stderrIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let stream = environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        guard let status = try? SystemCall.fileStatus(STDERR_FILENO, path: nil) else { return false }
        return UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    /// Creates the socket. Nothing is sent, so a journal that is not running shows up at `send`.
    public init(socketPath: String = "/run/systemd/journal/socket") throws(SystemError) {
        self.socketPath = socketPath
        self.address = try UnixSocketAddress(socketPath)
        self.socket = try UnixDatagramSocket()
    }

    /// Sends one entry with `fields` in order. Names must be [A-Z0-9_], not start with "_" (those
    /// are journald's trusted fields) nor a digit, and be at most 64 characters: journald would
    /// drop anything else, so a bad name is a programmer error (precondition).
    /// If the datagram is too large (EMSGSIZE/ENOBUFS) the entry goes through a sealed memfd.
    public func send(_ fields: [(name: String, value: String)]) throws(SystemError) {
        guard !fields.isEmpty else { return }
        var entry: [UInt8] = []
        for field in fields {
            precondition(Self.isValidFieldName(field.name), "invalid journal field name \(field.name.debugDescription)")
            entry += field.name.utf8
            if field.value.utf8.contains(UInt8(ascii: "\n")) {
                entry.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(field.value.utf8.count).littleEndian) { entry += $0 }
                entry += field.value.utf8
            } else {
                entry.append(UInt8(ascii: "="))
                entry += field.value.utf8
            }
            entry.append(UInt8(ascii: "\n"))
        }
        do {
            try socket.send(entry, to: address)
        } catch where error.errno == EMSGSIZE || error.errno == ENOBUFS {
            try sendThroughMemoryFile(entry)
        }
    }

    /// Writes the entry to a memfd, seals it against any change (journald insists), and passes the
    /// descriptor in an otherwise empty datagram.
    private func sendThroughMemoryFile(_ entry: [UInt8]) throws(SystemError) {
        guard let memfdCreate = GNUFunctions.memfdCreate else {
            throw SystemError(call: "memfd_create", errno: ENOSYS)
        }
        let memoryFile = try SystemCall.run("memfd_create") {
            memfdCreate("journal-entry", GNUFunctions.memfdCloseOnExec | GNUFunctions.memfdAllowSealing)
        }
        defer { SystemCall.closeIgnoringErrors(memoryFile) }
        try FileSystem.writeAll(entry, to: memoryFile, path: "memfd:journal-entry")
        let seals = GNUFunctions.sealShrink | GNUFunctions.sealGrow | GNUFunctions.sealWrite | GNUFunctions.sealSeal
        try SystemCall.run("fcntl(F_ADD_SEALS)") { fcntl(memoryFile, GNUFunctions.fcntlAddSeals, seals) }
        try socket.send([], to: address, passing: memoryFile)
    }

    static func isValidFieldName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= maximumFieldNameLength else { return false }
        if first == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}
