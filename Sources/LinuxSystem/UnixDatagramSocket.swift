import Glibc

/// An unbound AF_UNIX datagram socket that sends whole messages to an address, optionally passing
/// one file descriptor (SCM_RIGHTS). Shared by `ServiceNotifier` and `JournalWriter`.
final class UnixDatagramSocket: Sendable {
    let descriptor: Int32

    init() throws(SystemError) {
        descriptor = try SystemCall.run("socket") {
            socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
    }

    deinit {
        SystemCall.closeIgnoringErrors(descriptor)
    }

    /// sendmsg(2) of `bytes` as one datagram; MSG_NOSIGNAL so a vanished peer cannot raise SIGPIPE.
    func send(_ bytes: [UInt8], to address: UnixSocketAddress, passing passedDescriptor: Int32? = nil) throws(SystemError) {
        // CMSG_SPACE(sizeof(int)) on LP64: an aligned cmsghdr plus the int, padded to 8 bytes.
        let headerSize = MemoryLayout<cmsghdr>.size
        let controlSize = headerSize + 8
        var control = [UInt8](repeating: 0, count: controlSize)
        if let passedDescriptor {
            control.withUnsafeMutableBytes { raw in
                var header = cmsghdr()
                header.cmsg_len = headerSize + MemoryLayout<Int32>.size  // CMSG_LEN(sizeof(int))
                header.cmsg_level = SOL_SOCKET
                header.cmsg_type = Int32(SCM_RIGHTS)
                raw.storeBytes(of: header, toByteOffset: 0, as: cmsghdr.self)
                raw.storeBytes(of: passedDescriptor, toByteOffset: headerSize, as: Int32.self)
            }
        }
        var payload = bytes
        try payload.withUnsafeMutableBufferPointer { (payloadBuffer) throws(SystemError) in
            try control.withUnsafeMutableBufferPointer { (controlBuffer) throws(SystemError) in
                var vector = iovec(iov_base: payloadBuffer.baseAddress, iov_len: payloadBuffer.count)
                try withUnsafeMutablePointer(to: &vector) { (vectorPointer) throws(SystemError) in
                    let result: Int = address.withMessageName { name, nameLength in
                        var message = msghdr()
                        message.msg_name = name
                        message.msg_namelen = nameLength
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = payloadBuffer.isEmpty ? 0 : 1
                        if passedDescriptor != nil {
                            message.msg_control = UnsafeMutableRawPointer(controlBuffer.baseAddress)
                            message.msg_controllen = controlBuffer.count
                        }
                        while true {
                            let sent = sendmsg(descriptor, &message, Int32(MSG_NOSIGNAL))
                            if sent == -1 && errno == EINTR { continue }
                            return sent == -1 ? -Int(errno) : sent
                        }
                    }
                    if result < 0 {
                        throw SystemError(call: "sendmsg", errno: Int32(-result), path: address.description)
                    }
                }
            }
        }
    }
}
