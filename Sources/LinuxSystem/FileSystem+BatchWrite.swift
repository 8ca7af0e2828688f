import Glibc

extension FileSystem {
    /// Replaces several files atomically with one flush: each is written to a temp file in its own
    /// directory (mode `mode`, O_EXCL|O_NOFOLLOW), then one syncfs(2) per file system makes every temp
    /// durable, then each is renamed into place, then each directory is fsynced once. A reader (or a
    /// crash) sees each file old or new, never in part; the batch costs one flush, not one per file.
    /// On an error before the renames every temp is removed; an error from syncfs or a directory fsync
    /// is the caller's to treat as fatal.
    public static func writeFilesAtomically(_ files: [(path: String, bytes: [UInt8])], mode: UInt32 = 0o600) throws(SystemError) {
        guard !files.isEmpty else { return }
        var directories: [String: Int32] = [:]
        var temporaries: [(directory: Int32, temporary: String, name: String, path: String)] = []
        var renamed = 0
        defer {
            for entry in temporaries.dropFirst(renamed) { _ = unlinkat(entry.directory, entry.temporary, 0) }
            for descriptor in directories.values { SystemCall.closeIgnoringErrors(descriptor) }
        }
        for file in files {
            try SystemCall.checkPath("open", file.path)
            let (directory, name) = split(file.path)
            guard !name.isEmpty, name != ".", name != ".." else { throw SystemError(call: "open", errno: EISDIR, path: file.path) }
            let directoryDescriptor: Int32
            if let open = directories[directory] {
                directoryDescriptor = open
            } else {
                directoryDescriptor = try openDirectory(directory)
                directories[directory] = directoryDescriptor
            }
            let temporaryName = temporaryName(for: name)
            let temporaryPath = directory + "/" + temporaryName
            let descriptor = try SystemCall.run("openat", path: temporaryPath) {
                openat(directoryDescriptor, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
            }
            temporaries.append((directoryDescriptor, temporaryName, name, file.path))
            do {
                try SystemCall.run("fchmod", path: temporaryPath) { fchmod(descriptor, mode_t(mode)) }
                try writeAll(file.bytes, to: descriptor, path: temporaryPath)
            } catch {
                SystemCall.closeIgnoringErrors(descriptor)
                throw error
            }
            try SystemCall.close(descriptor, path: temporaryPath)
        }
        // One flush per file system holding these directories.
        var synced: Set<UInt64> = []
        for (directory, descriptor) in directories {
            var status = stat()
            try SystemCall.run("fstat", path: directory) { fstat(descriptor, &status) }
            guard synced.insert(UInt64(status.st_dev)).inserted else { continue }
            if let syncfs = GNUFunctions.syncfs {
                try SystemCall.run("syncfs", path: directory) { syncfs(descriptor) }
            } else {
                Glibc.sync()   // no syncfs: flush everything (slower, as durable)
            }
        }
        for entry in temporaries {
            try SystemCall.run("rename", path: entry.path) { renameat(entry.directory, entry.temporary, entry.directory, entry.name) }
            renamed += 1
        }
        for (directory, descriptor) in directories {
            try SystemCall.run("fsync", path: directory) { fsync(descriptor) }
        }
    }
}
