import Glibc

/// Every system call in this module goes through here: EINTR is retried, any other failure becomes
/// a `SystemError` naming the call and the path. (After swift-nio's `System.swift`.)
enum SystemCall {
    /// Runs `body` until it returns something other than -1 with errno EINTR.
    @discardableResult
    static func run<Result: FixedWidthInteger & SignedInteger>(
        _ call: String,
        path: String? = nil,
        secondPath: String? = nil,
        _ body: () -> Result
    ) throws(SystemError) -> Result {
        while true {
            let result = body()
            if result != -1 { return result }
            let code = errno
            if code == EINTR { continue }
            throw SystemError(call: call, errno: code, path: path, secondPath: secondPath)
        }
    }

    /// Paths reach C as NUL-terminated strings, so a path containing NUL would silently name a
    /// different file: it is refused with EINVAL (and an empty path with ENOENT, as the kernel would).
    static func checkPath(_ call: String, _ path: String) throws(SystemError) {
        if path.isEmpty { throw SystemError(call: call, errno: ENOENT, path: path) }
        if path.utf8.contains(0) { throw SystemError(call: call, errno: EINVAL, path: path) }
    }

    /// close(2) is not retried on EINTR: on Linux the descriptor is released even then, and a retry
    /// could close a descriptor another thread has just been given. Used on cleanup paths.
    static func closeIgnoringErrors(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// close(2) when its result matters (a file we wrote): EINTR counts as success for the reason above.
    static func close(_ descriptor: Int32, path: String?) throws(SystemError) {
        if Glibc.close(descriptor) == -1 {
            let code = errno
            if code != EINTR { throw SystemError(call: "close", errno: code, path: path) }
        }
    }

    /// fstat(2) into a value.
    static func fileStatus(_ descriptor: Int32, path: String?) throws(SystemError) -> stat {
        var status = stat()
        try run("fstat", path: path) { fstat(descriptor, &status) }
        return status
    }

    /// lstat(2) (or stat(2) when `followLinks`) into a value.
    static func pathStatus(_ path: String, followLinks: Bool = false) throws(SystemError) -> stat {
        let call = followLinks ? "stat" : "lstat"
        var status = stat()
        try checkPath(call, path)
        try run(call, path: path) { followLinks ? stat(path, &status) : lstat(path, &status) }
        return status
    }
}
