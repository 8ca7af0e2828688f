import Glibc

/// An AF_UNIX address: a path, or an abstract name written "@name" (as in $NOTIFY_SOCKET).
struct UnixSocketAddress {
    private var storage = sockaddr_un()
    let length: socklen_t
    let description: String

    init(_ address: String) throws(SystemError) {
        description = address
        var bytes = Array(address.utf8)
        let isAbstract = address.hasPrefix("@")
        if isAbstract { bytes[0] = 0 }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        let capacity = MemoryLayout<sockaddr_un>.size - pathOffset
        // A path needs its terminating NUL; an abstract name is delimited by the length alone.
        let needed = bytes.count + (isAbstract ? 0 : 1)
        guard bytes.count > (isAbstract ? 1 : 0), !bytes.dropFirst(isAbstract ? 1 : 0).contains(0) else {
            throw SystemError(call: "sockaddr_un", errno: EINVAL, path: address)
        }
        guard needed <= capacity else { throw SystemError(call: "sockaddr_un", errno: ENAMETOOLONG, path: address) }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage) { raw in
            for (index, byte) in bytes.enumerated() { raw[pathOffset + index] = byte }
        }
        length = socklen_t(pathOffset + needed)
    }

    /// Runs `body` with the address as the `msg_name` of a msghdr.
    func withMessageName<Result>(_ body: (UnsafeMutableRawPointer, socklen_t) -> Result) -> Result {
        var copy = storage
        return withUnsafeMutablePointer(to: &copy) { body(UnsafeMutableRawPointer($0), length) }
    }
}
