import Glibc

/// The calling thread's signal mask. A process inherits its parent's mask: a daemon started by a
/// parent that blocks SIGTERM (some test runners, some shells' job control) would never see its stop
/// signal. The daemon unblocks the signals it handles first thing, before any other thread exists,
/// so every thread it creates inherits the unblocked mask.
public enum SignalMask {
    public static func unblock(_ signals: [Int32]) {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
