/// Bounds the extra load retries add to an upstream: over a rolling window, retries may be at most
/// `percent` % of the calls, or `minRetriesPerSecond` per second of the window, whichever is more
/// (sans-IO: the caller passes the time).
///
/// A budget rather than a per-call limit: when an upstream fails everything, per-call retries
/// multiply its load by `attempts`, exactly when it can least take it; with a budget the extra
/// load stays at a fifth (by default) whatever happens. The floor lets a quiet gateway retry the
/// odd failure, where 20 % of three calls would round to nothing. Kept per upstream and per loop;
/// every loop applies the same share to its own calls, so the gateway as a whole stays within it.
public struct RetryBudget {
    /// Retries a loop may make per second of the window whatever its traffic. 2 per second (20 per
    /// 10 s window) covers the odd failure at low traffic and adds almost nothing to a sick backend.
    public static let minRetriesPerSecond = 2
    /// Length of the window: 10 s, long enough to smooth bursts, short enough to follow the traffic.
    public static let windowNanos: UInt64 = 10_000_000_000

    public let percent: Int
    /// Calls (first tries) and retries.
    private var window = RollingWindow(windowNanos: Self.windowNanos)

    /// A budget of `percent` % (0–100).
    public init(percent: Int) {
        self.percent = max(0, min(100, percent))
    }

    /// Counts a call's first try.
    public mutating func recordCall(now: UInt64) {
        window.add(first: 1, now: now)
    }

    /// Whether one more retry fits the budget; if so it is counted.
    public mutating func tryRetry(now: UInt64) -> Bool {
        let (calls, retries) = window.totals(now: now)
        let floor = Self.minRetriesPerSecond * Int(Self.windowNanos / 1_000_000_000)
        let allowed = max(floor, calls * percent / 100)
        guard retries < allowed else { return false }
        window.add(second: 1, now: now)
        return true
    }
}
