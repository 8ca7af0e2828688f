import Glibc

extension FileSystem {
    /// Replaces `path` with `bytes` so that a reader (or a crash) sees the old file or the new one,
    /// never part of either.
    ///
    /// Writes a temp file in the same directory (".<name>.<random>.tmp", O_EXCL|O_NOFOLLOW), sets its
    /// mode to `mode` with fchmod (so the umask does not matter), fsyncs it, renames it over `path`,
    /// then fsyncs the directory, unless `syncDirectory` is false because the caller syncs it once for
    /// a batch. On any error before the rename the temp file is removed. An error from the final
    /// directory fsync means the new file is in place but not known to be durable: treat it as fatal.
    public static func writeFileAtomically(_ bytes: [UInt8], to path: String, mode: UInt32 = 0o600, syncDirectory: Bool = true) throws(SystemError) {
        try SystemCall.checkPath("open", path)
        let (directory, name) = split(path)
        guard !name.isEmpty, name != ".", name != ".." else { throw SystemError(call: "open", errno: EISDIR, path: path) }

        let directoryDescriptor = try openDirectory(directory)
        defer { SystemCall.closeIgnoringErrors(directoryDescriptor) }

        let temporaryName = temporaryName(for: name)
        let temporaryPath = directory == "." && !path.hasPrefix("./") ? temporaryName : directory + "/" + temporaryName
        let descriptor = try SystemCall.run("openat", path: temporaryPath) {
            openat(directoryDescriptor, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
        }
        var descriptorOpen = true
        var renamed = false
        defer {
            if descriptorOpen { SystemCall.closeIgnoringErrors(descriptor) }
            if !renamed { _ = unlinkat(directoryDescriptor, temporaryName, 0) }
        }

        try SystemCall.run("fchmod", path: temporaryPath) { fchmod(descriptor, mode_t(mode)) }
        try writeAll(bytes, to: descriptor, path: temporaryPath)
        try SystemCall.run("fsync", path: temporaryPath) { fsync(descriptor) }
        descriptorOpen = false
        try SystemCall.close(descriptor, path: temporaryPath)
        try SystemCall.run("rename", path: temporaryPath, secondPath: path) {
            renameat(directoryDescriptor, temporaryName, directoryDescriptor, name)
        }
        renamed = true
        if syncDirectory {
            try SystemCall.run("fsync", path: directory) { fsync(directoryDescriptor) }
        }
    }

    /// write(2) until every byte is written (a regular file may take a write in parts).
    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(SystemError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SystemError) in
            guard let base = buffer.baseAddress else { return }
            var written = 0
            while written < buffer.count {
                let count = try SystemCall.run("write", path: path) { write(descriptor, base + written, buffer.count - written) }
                if count == 0 { throw SystemError(call: "write", errno: EIO, path: path) }
                written += count
            }
        }
    }

    /// The parent directory and the last component of `path` ("." when there is no "/").
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let name = String(path[path.index(after: slash)...])
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, name)
    }

    /// ".<name>.<16 hex digits>.tmp", with the name cut so the whole stays within NAME_MAX (255 bytes).
    static func temporaryName(for name: String) -> String {
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() as UInt64, radix: 16)
        let padded = String(repeating: "0", count: 16 - suffix.count) + suffix
        let room = 255 - 1 - 1 - 16 - 4
        var kept = Substring(name)
        while kept.utf8.count > room { kept = kept.dropLast() }
        return ".\(kept).\(padded).tmp"
    }
}
