import Glibc

extension FileSystem {
    /// Reads a whole file offered for intake, refusing anything that is not plainly a complete
    /// regular file.
    ///
    /// `name` is a single name inside `directory` (no "/"). It is first examined with
    /// fstatat(AT_SYMLINK_NOFOLLOW), so a FIFO, socket or device is refused without ever being
    /// opened; then opened with openat(O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC|O_NOCTTY), so a link
    /// swapped in meanwhile fails with ELOOP and a FIFO swapped in cannot block; then fstat decides:
    /// anything not regular is refused, a size above `maxBytes` is refused without reading, otherwise
    /// exactly that many bytes are read, EOF is confirmed, and a second fstat must show the same size
    /// and modification time.
    public static func readRegularFile(named name: String, inDirectory directory: String, maxBytes: Int) throws(FileReadRefusal) -> RegularFileContents {
        try readRegularFile(named: name, inDirectory: directory, maxBytes: maxBytes, followLinks: false, beforeReading: nil)
    }

    /// The reader behind `readRegularFile(named:inDirectory:maxBytes:)`.
    ///
    /// `followLinks` is for administrator-given absolute paths (credentials), where a link is
    /// acceptable; the other rules still apply. `beforeReading` runs between the first fstat and the
    /// read, so tests can change the file at exactly that point.
    static func readRegularFile(
        named name: String,
        inDirectory directory: String,
        maxBytes: Int,
        followLinks: Bool,
        beforeReading: (() -> Void)?
    ) throws(FileReadRefusal) -> RegularFileContents {
        precondition(maxBytes >= 0, "maxBytes must not be negative")
        let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
        // openat would walk a name with "/" through other directories, beyond O_NOFOLLOW's reach.
        if name.isEmpty || name == "." || name == ".." || name.utf8.contains(UInt8(ascii: "/")) || name.utf8.contains(0) {
            throw .system(SystemError(call: "openat", errno: EINVAL, path: path))
        }

        let directoryDescriptor: Int32
        do { directoryDescriptor = try openDirectory(directory) } catch { throw .system(error) }
        defer { SystemCall.closeIgnoringErrors(directoryDescriptor) }

        // Examine before opening: opening a device or a socket can itself have effects.
        var examined = stat()
        do {
            try SystemCall.run("fstatat", path: path) {
                fstatat(directoryDescriptor, name, &examined, followLinks ? 0 : AT_SYMLINK_NOFOLLOW)
            }
        } catch {
            throw error.isNotFound ? .notFound : .system(error)
        }
        try requireRegular(FileKind(mode: examined.st_mode))

        var flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY
        if !followLinks { flags |= O_NOFOLLOW }
        let descriptor: Int32
        do {
            descriptor = try SystemCall.run("openat", path: path) { openat(directoryDescriptor, name, flags) }
        } catch {
            switch error.errno {
            case ENOENT: throw .notFound
            case ELOOP where !followLinks: throw .symbolicLink
            case ENXIO:
                // A socket (or a device without a driver) swapped in after the fstatat.
                var status = stat()
                if fstatat(directoryDescriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0 {
                    try requireRegular(FileKind(mode: status.st_mode))
                }
                throw .system(error)
            default: throw .system(error)
            }
        }
        defer { SystemCall.closeIgnoringErrors(descriptor) }

        let before: stat
        do { before = try SystemCall.fileStatus(descriptor, path: path) } catch { throw .system(error) }
        try requireRegular(FileKind(mode: before.st_mode))
        let size = Int64(before.st_size)
        guard size <= Int64(maxBytes) else { throw .tooLarge(size: size, limit: maxBytes) }

        beforeReading?()

        var bytes = [UInt8](repeating: 0, count: Int(size))
        let filled = try bytes.withUnsafeMutableBufferPointer { (buffer) throws(FileReadRefusal) -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            var filled = 0
            while filled < buffer.count {
                let count: Int
                do throws(SystemError) {
                    count = try SystemCall.run("read", path: path) { read(descriptor, base + filled, buffer.count - filled) }
                } catch {
                    throw .system(error)
                }
                if count == 0 { break }  // shorter than fstat said: truncated while we read
                filled += count
            }
            return filled
        }
        guard filled == bytes.count else { throw .changedWhileReading }

        // EOF must follow: a file that grew (or a /proc-style file whose size says 0) is not complete.
        var probe: UInt8 = 0
        let extra: Int
        do { extra = try SystemCall.run("read", path: path) { read(descriptor, &probe, 1) } } catch { throw .system(error) }
        guard extra == 0 else { throw .changedWhileReading }

        let after: stat
        do { after = try SystemCall.fileStatus(descriptor, path: path) } catch { throw .system(error) }
        let identity = FileIdentity(before)
        let identityAfter = FileIdentity(after)
        guard identity.size == identityAfter.size, identity.modifiedNanoseconds == identityAfter.modifiedNanoseconds else {
            throw .changedWhileReading
        }
        return RegularFileContents(bytes: bytes, identity: identity)
    }

    private static func requireRegular(_ kind: FileKind) throws(FileReadRefusal) {
        switch kind {
        case .regular: return
        case .symlink: throw .symbolicLink
        case .directory, .fifo, .socket, .characterDevice, .blockDevice, .unknown: throw .notRegularFile(kind)
        }
    }
}
