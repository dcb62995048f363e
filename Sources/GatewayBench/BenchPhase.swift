/// The timeline of a run, as in wsload: open all connections → warm-up (not counted) → measured
/// window → drain (fanout: grace for late deliveries) → clean close.
enum BenchPhase: Int, Sendable, Comparable {
    /// Opening connections (at `-r` per second).
    case connect
    /// Traffic flows but is not counted (`-w`).
    case warmup
    /// Traffic flows and is counted (`-d`).
    case measure
    /// No new traffic; fanout waits `--grace` for late deliveries.
    case drain
    /// Every connection sends close 1000 and waits (at most 2 s) for the server's close and EOF.
    case close

    static func < (a: BenchPhase, b: BenchPhase) -> Bool { a.rawValue < b.rawValue }
}
