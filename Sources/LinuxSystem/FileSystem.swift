import Glibc

/// The file operations the router needs, each a thin, EINTR-safe wrapper over the system calls
/// whose errors name the call and the path.
///
/// Reading intake files is in `FileSystem+Read.swift`, atomic writes in `FileSystem+Write.swift`.
public enum FileSystem {
    /// The names in `path`, excluding "." and "..", in directory order. The kind comes from d_type,
    /// or from fstatat(AT_SYMLINK_NOFOLLOW) when the file system does not fill d_type; an entry that
    /// vanishes in between is left out.
    public static func listDirectory(_ path: String) throws(SystemError) -> [DirectoryEntry] {
        try listDirectory(path, maximumEntries: Int.max)
    }

    /// As `listDirectory(_:)`, but stops after `maximumEntries` names so a huge backlog costs bounded
    /// memory. If the result has exactly `maximumEntries` entries there may be more.
    public static func listDirectory(_ path: String, maximumEntries: Int) throws(SystemError) -> [DirectoryEntry] {
        try listDirectory(path, maximumEntries: maximumEntries, including: { _ in true })
    }

    /// As `listDirectory(_:maximumEntries:)`, counting and returning only the names `including`
    /// accepts, so names the caller would skip never use up `maximumEntries`.
    public static func listDirectory(_ path: String, maximumEntries: Int,
                                     including: (String) -> Bool) throws(SystemError) -> [DirectoryEntry] {
        precondition(maximumEntries >= 0, "maximumEntries must not be negative")
        try SystemCall.checkPath("opendir", path)
        var stream: OpaquePointer?
        while true {
            stream = opendir(path)
            if stream != nil { break }
            let code = errno
            if code != EINTR { throw SystemError(call: "opendir", errno: code, path: path) }
        }
        guard let directory = stream else { throw SystemError(call: "opendir", errno: EINVAL, path: path) }
        defer { closedir(directory) }
        let descriptor = dirfd(directory)
        let nameOffset = MemoryLayout<dirent>.offset(of: \dirent.d_name) ?? 19

        var entries: [DirectoryEntry] = []
        while entries.count < maximumEntries {
            // readdir returns NULL both at the end and on error; only errno tells them apart.
            errno = 0
            guard let entry = readdir(directory) else {
                let code = errno
                if code == 0 { break }
                throw SystemError(call: "readdir", errno: code, path: path)
            }
            let namePointer = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: CChar.self)
            let name = String(decoding: UnsafeRawBufferPointer(start: namePointer, count: strlen(namePointer)), as: UTF8.self)
            if name == "." || name == ".." || !including(name) { continue }

            if let kind = FileKind(directoryEntryType: entry.pointee.d_type) {
                entries.append(DirectoryEntry(name: name, kind: kind))
                continue
            }
            var status = stat()
            do {
                try SystemCall.run("fstatat", path: path + "/" + name) {
                    fstatat(descriptor, namePointer, &status, AT_SYMLINK_NOFOLLOW)
                }
                entries.append(DirectoryEntry(name: name, kind: FileKind(mode: status.st_mode)))
            } catch where error.isNotFound {
                continue  // removed since readdir saw it
            }
        }
        return entries
    }

    /// lstat(2): what `path` is, without following a final symbolic link; nil if it does not exist
    /// (or cannot be examined).
    public static func kind(of path: String) -> FileKind? {
        guard let status = try? SystemCall.pathStatus(path) else { return nil }
        return FileKind(mode: status.st_mode)
    }

    /// lstat(2): device, inode, size and modification time of `path`.
    public static func identity(of path: String) throws(SystemError) -> FileIdentity {
        FileIdentity(try SystemCall.pathStatus(path))
    }

    /// mkdir(2). An existing directory is fine and keeps its mode. Directories this call creates get
    /// exactly `mode` (chmod after mkdir, so the umask cannot widen or narrow it); intermediates,
    /// when created, get the same mode. An existing non-directory fails with ENOTDIR.
    public static func createDirectory(_ path: String, mode: UInt32 = 0o700, intermediates: Bool = true) throws(SystemError) {
        try SystemCall.checkPath("mkdir", path)
        if !intermediates {
            try makeOneDirectory(path, mode: mode)
            return
        }
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
            prefix += component
            try makeOneDirectory(prefix, mode: mode)
        }
    }

    private static func makeOneDirectory(_ path: String, mode: UInt32) throws(SystemError) {
        do {
            try SystemCall.run("mkdir", path: path) { mkdir(path, mode_t(mode)) }
        } catch where error.errno == EEXIST {
            // Follows links: an administrator may point a spool folder at another disk.
            let status = try SystemCall.pathStatus(path, followLinks: true)
            if FileKind(mode: status.st_mode) != .directory {
                throw SystemError(call: "mkdir", errno: ENOTDIR, path: path)
            }
            return
        }
        try SystemCall.run("chmod", path: path) { chmod(path, mode_t(mode)) }
    }

    /// rename(2). With `noReplace`, renameat2(RENAME_NOREPLACE): fails with EEXIST rather than
    /// overwrite. If the file system does not support that flag (EINVAL), or the kernel lacks
    /// renameat2, it falls back to link(2) + unlink(2), which also refuses an existing target.
    public static func rename(_ from: String, to: String, noReplace: Bool = false) throws(SystemError) {
        try SystemCall.checkPath("rename", from)
        try SystemCall.checkPath("rename", to)
        if !noReplace {
            try SystemCall.run("rename", path: from, secondPath: to) { Glibc.rename(from, to) }
            return
        }
        if let renameat2 = GNUFunctions.renameat2 {
            do {
                try SystemCall.run("renameat2", path: from, secondPath: to) {
                    renameat2(AT_FDCWD, from, AT_FDCWD, to, GNUFunctions.renameNoReplace)
                }
                return
            } catch where error.errno == EINVAL || error.errno == ENOSYS {
                // Fall through to link + unlink.
            }
        }
        try renameByLinking(from, to: to)
    }

    /// The no-replace fallback: link(2) fails with EEXIST if `to` exists; then the old name goes.
    static func renameByLinking(_ from: String, to: String) throws(SystemError) {
        try SystemCall.run("link", path: from, secondPath: to) { link(from, to) }
        try SystemCall.run("unlink", path: from) { unlink(from) }
    }

    /// unlink(2). Returns false if it was already gone (ENOENT); throws on anything else.
    @discardableResult
    public static func removeFile(_ path: String) throws(SystemError) -> Bool {
        try SystemCall.checkPath("unlink", path)
        do {
            try SystemCall.run("unlink", path: path) { unlink(path) }
            return true
        } catch where error.isNotFound {
            return false
        }
    }

    /// open(O_DIRECTORY|O_RDONLY) + fsync: makes creations, renames and removals in `path` durable.
    /// Any fsync error (EIO above all) is thrown: callers treat it as fatal, because after a failed
    /// fsync the kernel may have dropped the dirty pages and a retry would falsely succeed.
    public static func syncDirectory(_ path: String) throws(SystemError) {
        let descriptor = try openDirectory(path)
        defer { SystemCall.closeIgnoringErrors(descriptor) }
        try SystemCall.run("fsync", path: path) { fsync(descriptor) }
    }

    /// open + fsync of a file's data and metadata. Errors are fatal to callers, as for `syncDirectory`.
    public static func syncFile(_ path: String) throws(SystemError) {
        try SystemCall.checkPath("open", path)
        // O_NONBLOCK so that a FIFO at this path cannot block us.
        let descriptor = try SystemCall.run("open", path: path) { open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK) }
        defer { SystemCall.closeIgnoringErrors(descriptor) }
        try SystemCall.run("fsync", path: path) { fsync(descriptor) }
    }

    /// statvfs(3): bytes available to unprivileged users on the file system holding `path`.
    public static func availableBytes(at path: String) throws(SystemError) -> UInt64 {
        try SystemCall.checkPath("statvfs", path)
        var status = statvfs()
        try SystemCall.run("statvfs", path: path) { statvfs(path, &status) }
        let (bytes, overflow) = UInt64(status.f_bavail).multipliedReportingOverflow(by: UInt64(status.f_frsize))
        return overflow ? UInt64.max : bytes
    }

    /// chmod(2).
    public static func setPermissions(_ path: String, mode: UInt32) throws(SystemError) {
        try SystemCall.checkPath("chmod", path)
        try SystemCall.run("chmod", path: path) { chmod(path, mode_t(mode)) }
    }

    /// open(O_DIRECTORY|O_RDONLY|O_CLOEXEC): a descriptor for *at() calls and directory fsync.
    static func openDirectory(_ path: String) throws(SystemError) -> Int32 {
        try SystemCall.checkPath("open", path)
        return try SystemCall.run("open", path: path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }
}
