import Glibc

/// The loop a `DirectoryWatcher` runs on its own thread: poll(2) on the inotify descriptor and a
/// wake pipe, read events, turn them into `DirectoryWatcher.Event`s and push them into the buffer.
///
/// Blocking in poll on a dedicated thread keeps the Swift cooperative pool free. The reader owns the
/// watch table; nothing else touches it, so it needs no lock.
final class InotifyReader: Sendable {
    let inotifyDescriptor: Int32
    let wakeDescriptor: Int32
    let buffer: WatcherEventBuffer
    private let initialWatches: [Int32: String]

    /// inotify(7): the fixed part of `struct inotify_event` (wd, mask, cookie, len).
    static let eventHeaderSize = 16
    /// Room for many events per read; one event is at most 16 + NAME_MAX + 1 bytes.
    static let readBufferSize = 64 * 1024

    init(inotifyDescriptor: Int32, wakeDescriptor: Int32, buffer: WatcherEventBuffer, watches: [Int32: String]) {
        self.inotifyDescriptor = inotifyDescriptor
        self.wakeDescriptor = wakeDescriptor
        self.buffer = buffer
        self.initialWatches = watches
    }

    /// Runs until the wake pipe becomes readable (stop) or the inotify descriptor fails.
    func run() {
        var watches = initialWatches
        var bytes = [UInt8](repeating: 0, count: Self.readBufferSize)
        var descriptors = [
            pollfd(fd: inotifyDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            let ready = poll(&descriptors, 2, -1)
            if ready == -1 {
                if errno == EINTR { continue }
                // poll only fails for want of memory here; events may be missed meanwhile.
                buffer.push(.overflow)
                usleep(100_000)
                continue
            }
            if descriptors[1].revents != 0 { return }
            let inotifyEvents = Int32(descriptors[0].revents)
            if inotifyEvents & (POLLERR | POLLNVAL) != 0 {
                // The descriptor is unusable: every watch is lost, and the stream ends.
                for directory in Set(watches.values).sorted() { buffer.push(.watchLost(directory: directory)) }
                buffer.finish()
                return
            }
            guard inotifyEvents & POLLIN != 0 else { continue }

            let count = bytes.withUnsafeMutableBytes { read(inotifyDescriptor, $0.baseAddress, $0.count) }
            if count == -1 {
                let code = errno
                if code == EINTR || code == EAGAIN { continue }
                buffer.push(.overflow)
                usleep(100_000)
                continue
            }
            bytes.withUnsafeBytes { raw in
                parse(UnsafeRawBufferPointer(rebasing: raw[0..<count]), watches: &watches)
            }
        }
    }

    /// Walks the events in one read(2) result.
    private func parse(_ raw: UnsafeRawBufferPointer, watches: inout [Int32: String]) {
        var offset = 0
        while offset + Self.eventHeaderSize <= raw.count {
            let descriptor = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let nameLength = Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameStart = offset + Self.eventHeaderSize
            let nameEnd = min(nameStart + nameLength, raw.count)
            offset = nameStart + nameLength
            // The name is NUL-padded to an alignment boundary.
            var nameBytes = UnsafeRawBufferPointer(rebasing: raw[nameStart..<nameEnd])
            if let nul = nameBytes.firstIndex(of: 0) { nameBytes = UnsafeRawBufferPointer(rebasing: nameBytes[..<nul]) }
            handle(descriptor: descriptor, mask: mask, nameBytes: nameBytes, watches: &watches)
        }
    }

    private func handle(descriptor: Int32, mask: UInt32, nameBytes: UnsafeRawBufferPointer, watches: inout [Int32: String]) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            buffer.push(.overflow)
            return
        }
        // Events for a watch already reported lost (e.g. the IN_IGNORED after IN_DELETE_SELF) are dropped.
        guard let directory = watches[descriptor] else { return }

        let lost = UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_UNMOUNT) | UInt32(IN_IGNORED)
        if mask & lost != 0 {
            watches[descriptor] = nil
            if mask & UInt32(IN_MOVE_SELF) != 0 {
                // A moved directory keeps its watch; events from its new place must not be
                // reported under the old name.
                _ = inotify_rm_watch(inotifyDescriptor, descriptor)
            }
            buffer.push(.watchLost(directory: directory))
            return
        }
        if mask & (UInt32(IN_CLOSE_WRITE) | UInt32(IN_MOVED_TO)) != 0, !nameBytes.isEmpty {
            buffer.push(.fileReady(directory: directory, name: String(decoding: nameBytes, as: UTF8.self)))
        } else if mask & UInt32(IN_CREATE) != 0, !nameBytes.isEmpty {
            // A symlink, FIFO, socket or directory made in place never sends IN_CLOSE_WRITE: announce
            // it now (lstat, never following) so it is refused at once. A regular file is still being
            // written: it is announced when closed.
            let name = String(decoding: nameBytes, as: UTF8.self)
            if let kind = FileSystem.kind(of: directory + "/" + name), kind != .regular {
                buffer.push(.fileReady(directory: directory, name: name))
            }
        }
    }
}
