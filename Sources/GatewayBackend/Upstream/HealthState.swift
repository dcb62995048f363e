/// The active health of one endpoint: `unhealthyAfter` failed checks in a row take it out of
/// rotation, `healthyAfter` passed checks in a row bring it back (sans-IO).
///
/// An endpoint starts healthy: the gateway serves from its first second instead of waiting for
/// `healthyAfter` checks of every endpoint, and a dead one is out after `unhealthyAfter` intervals
/// (passive ejection usually takes it out sooner).
public struct HealthState: Sendable, Equatable {
    public let unhealthyAfter: Int
    public let healthyAfter: Int
    public private(set) var healthy = true
    /// Checks in a row that disagree with `healthy`.
    public private(set) var streak = 0

    /// An endpoint with these thresholds (each at least 1), healthy unless `healthy` says otherwise
    /// (a reload keeps what the checks found).
    public init(unhealthyAfter: Int, healthyAfter: Int, healthy: Bool = true) {
        self.unhealthyAfter = max(1, unhealthyAfter)
        self.healthyAfter = max(1, healthyAfter)
        self.healthy = healthy
    }

    /// Records one check; returns true when this flipped `healthy`.
    public mutating func record(passed: Bool) -> Bool {
        guard passed != healthy else {
            streak = 0
            return false
        }
        streak += 1
        guard streak >= (healthy ? unhealthyAfter : healthyAfter) else { return false }
        healthy = passed
        streak = 0
        return true
    }
}
