/// Passive ejection of failing endpoints, for one upstream on one loop (sans-IO: the caller passes
/// the time).
///
/// Every call's outcome is reported per endpoint. `consecutiveFailures` failures in a row eject the
/// endpoint for `baseEjectionMs` × n, n counting its ejections in a row (capped at
/// `maxMultiplier`); n starts over once the endpoint has stayed in rotation for `decayFactor` ×
/// `baseEjectionMs`. Ejections never exceed `maxEjectionPercent` of the group, and never the
/// whole group: at least one endpoint of a group of two or more may go (unless the percentage is
/// 0), but never the last one.
public struct OutlierDetector {
    /// A change for logs and metrics.
    public enum Event: Equatable {
        /// Taken out of rotation for `forMs`, for the `count`-th time in a row.
        case ejected(endpoint: Int, forMs: Int, count: Int)
        /// Back in rotation (its ejection time passed).
        case returned(endpoint: Int)
    }

    private struct Entry {
        var consecutive = 0
        /// Ejections in a row (the multiplier of the next one).
        var ejections = 0
        var ejected = false
        var until: UInt64 = 0
        /// When its last ejection ended (for the multiplier's decay).
        var returnedAt: UInt64 = 0
    }

    /// Longest ejection, in multiples of the base: 10 × 5 s by default.
    public static let maxMultiplier = 10
    /// An endpoint in rotation for this many base ejection times has its multiplier reset.
    public static let decayFactor: UInt64 = 10

    public let settings: OutlierDetectionSettings
    private var entries: [Entry]
    /// Endpoints ejected now.
    public private(set) var ejectedCount = 0

    /// Detection over `endpoints` endpoints, none ejected.
    public init(settings: OutlierDetectionSettings, endpoints: Int) {
        self.settings = settings
        entries = Array(repeating: Entry(), count: endpoints)
    }

    /// How many endpoints may be ejected at once.
    public var maxEjected: Int {
        let n = entries.count
        guard n >= 2, settings.maxEjectionPercent > 0 else { return 0 }
        return min(n - 1, max(1, n * settings.maxEjectionPercent / 100))
    }

    /// Whether `endpoint` is out of rotation (as of the last `refresh`).
    public func isEjected(_ endpoint: Int) -> Bool { entries[endpoint].ejected }

    /// Brings back every endpoint whose time is up; calls `event` for each.
    public mutating func refresh(now: UInt64, _ event: (Event) -> Void) {
        guard ejectedCount > 0 else { return }
        for i in entries.indices where entries[i].ejected && now >= entries[i].until {
            entries[i].ejected = false
            entries[i].consecutive = 0
            entries[i].returnedAt = now
            ejectedCount -= 1
            event(.returned(endpoint: i))
        }
    }

    /// Records one call's outcome on `endpoint`; returns the ejection it caused, if any.
    public mutating func record(_ endpoint: Int, failed: Bool, now: UInt64) -> Event? {
        guard failed else {
            entries[endpoint].consecutive = 0
            return nil
        }
        entries[endpoint].consecutive += 1
        guard !entries[endpoint].ejected, entries[endpoint].consecutive >= settings.consecutiveFailures,
            ejectedCount < maxEjected
        else { return nil }
        let base = UInt64(settings.baseEjectionMs) * 1_000_000
        var e = entries[endpoint]
        if e.ejections > 0, now >= e.returnedAt, now - e.returnedAt >= base &* Self.decayFactor { e.ejections = 0 }
        e.ejections = min(e.ejections + 1, Self.maxMultiplier)
        e.ejected = true
        e.consecutive = 0
        e.until = now &+ base &* UInt64(e.ejections)
        entries[endpoint] = e
        ejectedCount += 1
        return .ejected(endpoint: endpoint, forMs: settings.baseEjectionMs * e.ejections, count: e.ejections)
    }
}
