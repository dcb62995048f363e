@testable import Gateway
import Testing

@Suite("LatencyHistogram")
struct LatencyHistogramTests {
    @Test("observations land in the first bucket whose bound holds them; lines are cumulative")
    func buckets() {
        var h = LatencyHistogram(bounds: [0.001, 0.01, 0.1])
        for s in [0.0005, 0.001, 0.002, 0.05, 0.5, 7] { h.record(seconds: s) }
        #expect(h.counts == [2, 1, 1, 2])
        #expect(h.count == 6)
        #expect(abs(h.sum - 7.5535) < 1e-9)
        #expect(h.lines("x") == [
            "x_bucket{le=\"0.001\"} 2", "x_bucket{le=\"0.01\"} 3", "x_bucket{le=\"0.1\"} 4",
            "x_bucket{le=\"+Inf\"} 6", "x_sum \(h.sum)", "x_count 6",
        ])
    }
}
