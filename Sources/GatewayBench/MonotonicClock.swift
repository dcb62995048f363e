#if canImport(Glibc)
internal import Glibc
#endif

/// CLOCK_MONOTONIC in nanoseconds: the clock of `EventLoop.now`, of the loop timers and of the `TS`
/// markers, so a publisher and its subscribers (same process) compare times directly.
enum MonotonicClock {
    /// The current time. One vDSO call (~20 ns); read once per received batch, not per frame.
    @inline(__always)
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Seconds (as given on the command line) in nanoseconds, clamped at zero.
    static func nanos(seconds: Double) -> UInt64 {
        seconds > 0 ? UInt64(seconds * 1e9) : 0
    }
}
