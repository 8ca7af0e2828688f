import Glibc

/// CLOCK_MONOTONIC in microseconds: the clock systemd expects in MONOTONIC_USEC, and one that a
/// wall-clock step cannot move.
public func monotonicMicroseconds() -> UInt64 {
    var now = timespec()
    // clock_gettime(CLOCK_MONOTONIC) cannot fail with a valid pointer and clock id.
    _ = clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000 &+ UInt64(now.tv_nsec / 1_000)
}
