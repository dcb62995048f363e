/// What one loop knows of an upstream, copied out for the admin API and metrics; the admin adds the
/// loops' snapshots up (`add`).
public struct UpstreamSnapshot: Sendable {
    public var name: String
    public var balance: UpstreamBalance
    /// Retries started, calls answered at once because no endpoint admitted them, and retries the
    /// budget refused.
    public var retries: UInt64 = 0
    public var fastFails: UInt64 = 0
    public var retriesDenied: UInt64 = 0
    public var endpoints: [UpstreamEndpointSnapshot]

    /// Adds another loop's figures for the same upstream.
    public mutating func add(_ o: UpstreamSnapshot) {
        retries += o.retries
        fastFails += o.fastFails
        retriesDenied += o.retriesDenied
        for i in 0..<min(endpoints.count, o.endpoints.count) { endpoints[i].add(o.endpoints[i]) }
    }
}

/// One endpoint's figures (of one loop, or summed over loops).
public struct UpstreamEndpointSnapshot: Sendable {
    public var url: String
    /// Active health (the same on every loop).
    public var healthy: Bool
    /// Loops that have it ejected now.
    public var ejectedLoops = 0
    /// Loops whose breaker is in each state (`CircuitBreaker.State.allCases` order); all zero without
    /// a breaker.
    public var breakerLoops: [Int] = [0, 0, 0]
    public var inFlight = 0
    /// Tries sent to it, and those that failed (connect failure, reset, timeout, 5xx).
    public var calls: UInt64 = 0
    public var failures: UInt64 = 0
    /// Latency of its tries: counts per bucket of `latencyBoundsNanos` (+ one past the last), sum.
    public var latencyBuckets: [UInt64]
    public var latencySumNanos: UInt64 = 0

    /// Upper bounds of the latency buckets: 250 µs to 10 s, about ×2 per step, fine enough for a
    /// p50/p99 estimate of loopback and LAN backends alike.
    public static let latencyBoundsNanos: [UInt64] = [
        250_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000,
        200_000_000, 500_000_000, 1_000_000_000, 2_000_000_000, 5_000_000_000, 10_000_000_000,
    ]

    /// An endpoint with no calls.
    public init(url: String, healthy: Bool) {
        self.url = url
        self.healthy = healthy
        latencyBuckets = Array(repeating: 0, count: Self.latencyBoundsNanos.count + 1)
    }

    /// The worst breaker state over the loops (open, then half-open, then closed); nil without one.
    public var breaker: CircuitBreaker.State? {
        if breakerLoops[1] > 0 { return .open }
        if breakerLoops[2] > 0 { return .halfOpen }
        return breakerLoops[0] > 0 ? .closed : nil
    }

    /// Counts one try's latency.
    mutating func record(latencyNanos: UInt64) {
        var i = 0
        let bounds = Self.latencyBoundsNanos
        while i < bounds.count, latencyNanos > bounds[i] { i += 1 }
        latencyBuckets[i] &+= 1
        latencySumNanos &+= latencyNanos
    }

    /// Mean latency in milliseconds (0 without calls).
    public var meanMs: Double {
        let n = latencyBuckets.reduce(0, +)
        return n == 0 ? 0 : Double(latencySumNanos) / Double(n) / 1e6
    }

    /// The `q` quantile (0…1) in milliseconds, interpolated inside its bucket (0 without calls).
    public func quantileMs(_ q: Double) -> Double {
        let n = latencyBuckets.reduce(0, +)
        guard n > 0 else { return 0 }
        let rank = max(1, (q * Double(n)).rounded(.up))
        var seen: UInt64 = 0
        let bounds = Self.latencyBoundsNanos
        for (i, c) in latencyBuckets.enumerated() where c > 0 {
            if Double(seen + c) >= rank {
                let lower = i == 0 ? 0 : Double(bounds[i - 1])
                let upper = i < bounds.count ? Double(bounds[i]) : lower * 2
                let within = (rank - Double(seen)) / Double(c)
                return (lower + (upper - lower) * within) / 1e6
            }
            seen += c
        }
        return Double(bounds[bounds.count - 1]) / 1e6
    }

    mutating func add(_ o: UpstreamEndpointSnapshot) {
        ejectedLoops += o.ejectedLoops
        for k in 0..<3 { breakerLoops[k] += o.breakerLoops[k] }
        inFlight += o.inFlight
        calls += o.calls
        failures += o.failures
        for k in 0..<min(latencyBuckets.count, o.latencyBuckets.count) { latencyBuckets[k] += o.latencyBuckets[k] }
        latencySumNanos += o.latencySumNanos
    }
}
