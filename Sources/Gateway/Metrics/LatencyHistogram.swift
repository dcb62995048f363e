/// A Prometheus histogram of durations: counts per upper bound (plus one past the last), and the
/// sum, as the text format wants them. Not thread-safe: one owner writes and reads it.
struct LatencyHistogram: Sendable, Equatable {
    /// Upper bounds in seconds, ascending.
    let bounds: [Double]
    /// Observations per bucket (not cumulative); the last one is past every bound.
    private(set) var counts: [UInt64]
    private(set) var sum: Double = 0

    /// Cross-node delivery through Redis takes a few hundred microseconds on one host and a few
    /// milliseconds across a network; the upper buckets catch queues that held during an outage.
    static let crossNodeBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    init(bounds: [Double]) {
        self.bounds = bounds
        counts = Array(repeating: 0, count: bounds.count + 1)
    }

    /// Total observations.
    var count: UInt64 { counts.reduce(0, +) }

    mutating func record(seconds: Double) {
        var i = 0
        while i < bounds.count, seconds > bounds[i] { i += 1 }
        counts[i] &+= 1
        sum += seconds
    }

    /// The exposition lines of histogram `name` (`_bucket` with cumulative counts and `le`, `_sum`,
    /// `_count`).
    func lines(_ name: String) -> [String] {
        var out: [String] = []
        var cumulative: UInt64 = 0
        for (i, bound) in bounds.enumerated() {
            cumulative += counts[i]
            out.append("\(name)_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        out.append("\(name)_bucket{le=\"+Inf\"} \(count)")
        out.append("\(name)_sum \(sum)")
        out.append("\(name)_count \(count)")
        return out
    }
}
