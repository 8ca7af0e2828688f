import Glibc
import Synchronization

/// A real AF_UNIX datagram socket bound to a path (or an abstract "@name"), standing in for
/// systemd's notify socket or journald's socket. Receives with a bounded wait; closed by `close()`
/// or when released.
public final class BoundDatagramSocket: Sendable {
    public let address: String
    private let descriptor: Int32
    private let closed = Mutex(false)

    public init(path: String) throws {
        address = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket: errno \(errno)") }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if path.hasPrefix("@") { bytes[0] = 0 }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        withUnsafeMutableBytes(of: &socketAddress) { raw in
            for (index, byte) in bytes.enumerated() { raw[pathOffset + index] = byte }
        }
        // Abstract names have no terminating NUL: the length says where they end.
        let length = socklen_t(pathOffset + bytes.count + (path.hasPrefix("@") ? 0 : 1))
        let result = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw TestSupportError("bind \(path): errno \(code)")
        }
    }

    /// One datagram and any descriptors passed with it, or nil after `timeoutMilliseconds`.
    public func receive(timeoutMilliseconds: Int32 = 5000, capacity: Int = 1 << 20) -> (bytes: [UInt8], descriptors: [Int32])? {
        var descriptorToPoll = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptorToPoll, 1, timeoutMilliseconds) == 1 else { return nil }
        var payload = [UInt8](repeating: 0, count: capacity)
        var control = [UInt8](repeating: 0, count: 256)
        let (count, controlLength): (Int, Int) = payload.withUnsafeMutableBytes { payloadBytes in
            control.withUnsafeMutableBytes { controlBytes in
                var vector = iovec(iov_base: payloadBytes.baseAddress, iov_len: payloadBytes.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBytes.baseAddress
                    message.msg_controllen = controlBytes.count
                    let count = recvmsg(descriptor, &message, Int32(MSG_CMSG_CLOEXEC))
                    return (count, Int(message.msg_controllen))
                }
            }
        }
        guard count >= 0 else { return nil }
        // Walk the control messages by hand: CMSG_* are macros Swift cannot import.
        var descriptors: [Int32] = []
        var offset = 0
        let headerSize = MemoryLayout<cmsghdr>.size
        while offset + headerSize <= controlLength {
            let header = control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: cmsghdr.self) }
            let length = Int(header.cmsg_len)
            if length < headerSize { break }
            if header.cmsg_level == SOL_SOCKET && header.cmsg_type == Int32(SCM_RIGHTS) {
                var at = offset + headerSize
                while at + 4 <= offset + length {
                    descriptors.append(control.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: Int32.self) })
                    at += 4
                }
            }
            offset += (length + 7) & ~7
        }
        return (Array(payload[0..<count]), descriptors)
    }

    /// The next datagram parsed as one journald entry, its fields in order.
    public func receiveJournalEntry(timeoutMilliseconds: Int32 = 5000) -> [(name: String, value: String)]? {
        receive(timeoutMilliseconds: timeoutMilliseconds).flatMap { parseJournalEntry($0.bytes) }
    }

    public func close() {
        let wasOpen = closed.withLock { closed in defer { closed = true }; return !closed }
        if wasOpen { Glibc.close(descriptor) }
    }

    deinit { close() }
}
