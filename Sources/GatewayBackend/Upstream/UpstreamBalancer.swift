/// Chooses an endpoint among those a predicate allows, by the group's `balance` (sans-IO).
///
/// Round-robin takes the next allowed endpoint after the previous pick. Least-inflight takes the
/// allowed endpoint with the fewest calls in flight, scanning from the one after the previous pick
/// so that ties go round in turn (with equal load it spreads exactly like round-robin).
public struct UpstreamBalancer {
    public let policy: UpstreamBalance
    /// Where the next scan starts.
    public private(set) var cursor = 0

    /// A balancer starting at endpoint 0.
    public init(policy: UpstreamBalance) {
        self.policy = policy
    }

    /// The chosen endpoint of `count`, or nil when `allowed` rejects them all. `inflight` is read
    /// only for least-inflight.
    public mutating func pick(count: Int, allowed: (Int) -> Bool, inflight: (Int) -> Int) -> Int? {
        guard count > 0 else { return nil }
        if cursor >= count { cursor = 0 }
        var best: Int?
        var bestLoad = Int.max
        var i = cursor
        for _ in 0..<count {
            if allowed(i) {
                if policy == .roundRobin {
                    best = i
                    break
                }
                let load = inflight(i)
                if load < bestLoad {
                    best = i
                    bestLoad = load
                    if load == 0 { break }  // nothing beats an idle endpoint
                }
            }
            i += 1
            if i == count { i = 0 }
        }
        if let best { cursor = best + 1 == count ? 0 : best + 1 }
        return best
    }
}
