#if canImport(Glibc)
import Glibc
#endif

/// The wall clock, for what crosses nodes: heartbeat records and session start times carry it for
/// people and for durations measured on another node, and deliveries carry it for the cross-node
/// latency histogram. Nodes' clocks are only as close as NTP keeps them; nothing the cluster
/// decides depends on comparing them.
enum WallClock {
    /// Unix time in milliseconds.
    static func ms() -> Int { Int(micros() / 1000) }

    /// Unix time in microseconds.
    static func micros() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }
}
