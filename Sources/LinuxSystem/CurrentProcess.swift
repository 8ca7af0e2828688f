import Glibc

/// Facts about this process that the daemon needs at its edge.
public enum CurrentProcess {
    /// getpid(2).
    public static var pid: Int32 { getpid() }

    /// Names the calling thread (as `ps -L`, `top -H`, /proc and perf show it); the kernel keeps at
    /// most 15 bytes.
    public static func nameCurrentThread(_ name: String) {
        _ = GNUFunctions.setThreadName?(pthread_self(), String(decoding: name.utf8.prefix(15), as: UTF8.self))
    }

    /// The calling thread's name.
    public static var currentThreadName: String {
        var buffer = [CChar](repeating: 0, count: 16)
        guard GNUFunctions.getThreadName?(pthread_self(), &buffer, buffer.count) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The brief's name for `CurrentProcess`.
public typealias ProcessInfoExtras = CurrentProcess
