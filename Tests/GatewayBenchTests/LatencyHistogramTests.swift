import Testing

@testable import GatewayBench

@Suite struct LatencyHistogramTests {
    @Test func nearestRankIsExactForCommonPercentiles() {
        #expect(LatencyHistogram.rank(percentile: 99.9, count: 1000) == 999)
        #expect(LatencyHistogram.rank(percentile: 99.9, count: 10_000) == 9990)
        #expect(LatencyHistogram.rank(percentile: 99.9, count: 2000) == 1998)
        #expect(LatencyHistogram.rank(percentile: 99.9, count: 100_000) == 99_900)
        #expect(LatencyHistogram.rank(percentile: 99.9, count: 1001) == 1000)  // ⌈999.999⌉
        #expect(LatencyHistogram.rank(percentile: 99.99, count: 10_000) == 9999)
        #expect(LatencyHistogram.rank(percentile: 99, count: 100) == 99)
        #expect(LatencyHistogram.rank(percentile: 90, count: 10) == 9)
        #expect(LatencyHistogram.rank(percentile: 50, count: 3) == 2)
        #expect(LatencyHistogram.rank(percentile: 50, count: 2) == 1)
    }

    @Test func rankIsClampedToTheSamples() {
        #expect(LatencyHistogram.rank(percentile: 0, count: 5) == 1)
        #expect(LatencyHistogram.rank(percentile: 0.0001, count: 5) == 1)
        #expect(LatencyHistogram.rank(percentile: 100, count: 5) == 5)
        #expect(LatencyHistogram.rank(percentile: 250, count: 5) == 5)
        #expect(LatencyHistogram.rank(percentile: 99.9, count: 1) == 1)
        #expect(LatencyHistogram.rank(percentile: 50, count: 0) == 0)
        // No overflow for counts far beyond any run.
        #expect(LatencyHistogram.rank(percentile: 50, count: UInt64.max) == UInt64.max / 2 + 1)
    }

    /// The case the float rank got wrong: p99.9 of 1,000 samples is the 999th, not the maximum.
    @Test func p999OfAThousandSamplesIsNotTheMaximum() {
        let h = LatencyHistogram()
        for _ in 0..<999 { h.record(10) }
        h.record(100)
        #expect(h.percentile(99.9) == 10)
        #expect(h.percentile(100) == 100)
        #expect(h.max == 100)
        #expect(h.count == 1000)
    }

    @Test func percentilesOfExactBuckets() {
        let h = LatencyHistogram()
        for v: UInt64 in 1...100 { h.record(v) }  // below 128 every value has its own bucket
        #expect(h.percentile(50) == 50)
        #expect(h.percentile(90) == 90)
        #expect(h.percentile(99) == 99)
        #expect(h.percentile(99.9) == 100)
        #expect(h.percentile(0) == 1)
    }

    @Test func emptyHistogramReportsZero() {
        let h = LatencyHistogram()
        #expect(h.percentile(50) == 0)
        #expect(h.percentile(99.9) == 0)
        #expect(h.max == 0)
    }

    @Test func bucketsAreMonotonicAndWithinOneSixtyFourth() {
        var last = -1
        var v: UInt64 = 0
        while v < 1 << 40 {
            let b = LatencyHistogram.bucket(of: v)
            #expect(b >= last)
            #expect(b < LatencyHistogram.bucketCount)
            last = b
            let mid = LatencyHistogram.value(ofBucket: b)
            let error = mid > v ? mid - v : v - mid
            #expect(error <= v / 64 + 1, "value \(v) bucket \(b) midpoint \(mid)")
            v = v < 1024 ? v + 1 : v + v / 37 + 1
        }
        #expect(LatencyHistogram.bucket(of: UInt64.max) < LatencyHistogram.bucketCount)
    }

    @Test func quantisedPercentileIsCappedAtTheMaximum() {
        let h = LatencyHistogram()
        h.record(1_000_001)
        #expect(h.percentile(99.9) == 1_000_001)
    }

    @Test func mergeAddsCountsAndKeepsTheLargerMaximum() {
        let a = LatencyHistogram()
        let b = LatencyHistogram()
        for _ in 0..<999 { a.record(20) }
        b.record(90)
        a.merge(b)
        #expect(a.count == 1000)
        #expect(a.max == 90)
        #expect(a.percentile(99.9) == 20)
    }
}
