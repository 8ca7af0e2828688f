import Glibc

/// Facts about this process that the daemon needs at its edge.
public enum CurrentProcess {
    /// getpid(2).
    public static var pid: Int32 { getpid() }
}

/// The brief's name for `CurrentProcess`.
public typealias ProcessInfoExtras = CurrentProcess
