/// A log-linear histogram of nanosecond values with fixed memory and no allocation per sample.
///
/// Values below 128 get one bucket each; above, every power of two is split into 64 linear buckets,
/// so a bucket is at most 1/64 (~1.6 %) of its value wide, from 128 ns up to 2⁶⁴ ns. That is the same
/// layout as wsload's, so both tools quantise alike. 3,840 buckets of 8 bytes (30 KiB) per histogram;
/// each event loop owns its own and they are merged after the loops stopped.
final class LatencyHistogram {
    /// Number of buckets: 128 exact ones plus 58 powers of two × 64.
    static let bucketCount = 128 + 58 * 64

    private let counts: UnsafeMutablePointer<UInt64>
    /// Samples recorded.
    private(set) var count: UInt64 = 0
    /// The largest sample (exact, not quantised).
    private(set) var max: UInt64 = 0

    /// Creates an empty histogram.
    init() {
        counts = .allocate(capacity: Self.bucketCount)
        counts.initialize(repeating: 0, count: Self.bucketCount)
    }

    deinit {
        counts.deallocate()
    }

    @inline(__always)
    static func bucket(of value: UInt64) -> Int {
        if value < 128 { return Int(value) }
        let msb = 63 - value.leadingZeroBitCount
        let shift = msb - 6
        return 128 + (shift - 1) * 64 + Int((value >> UInt64(shift)) - 64)
    }

    /// The midpoint of a bucket.
    static func value(ofBucket index: Int) -> UInt64 {
        if index < 128 { return UInt64(index) }
        let shift = (index - 128) / 64 + 1
        let top = UInt64((index - 128) % 64 + 64)
        return (top << UInt64(shift)) + ((1 << UInt64(shift)) >> 1)
    }

    /// Records one sample.
    @inline(__always)
    func record(_ value: UInt64) {
        counts[Self.bucket(of: value)] &+= 1
        count &+= 1
        if value > max { max = value }
    }

    /// The nearest rank of percentile `p` among `count` samples: the smallest `r` (1 ... count) with
    /// `r ≥ p/100 · count`, so that at least p % of the samples are at or below the r-th smallest.
    ///
    /// Computed in integers: `p` is first rounded to millionths of a percent (enough for p99.9999),
    /// then the ceiling is exact. In floating point, `99.9 / 100 * 1000` is 999.0000000000001, whose
    /// ceiling, 1000, reported the maximum as p99.9 of 1,000 samples instead of the 999th.
    static func rank(percentile p: Double, count: UInt64) -> UInt64 {
        guard count > 0 else { return 0 }
        guard p > 0 else { return 1 }
        guard p < 100 else { return count }
        let scale: UInt64 = 100_000_000  // 100 % in millionths of a percent
        let parts = UInt64((p * 1_000_000).rounded())
        // ⌈count · parts / scale⌉ without overflow: the product is 128-bit.
        let (high, low) = count.multipliedFullWidth(by: parts)
        let (q, r) = scale.dividingFullWidth((high, low))
        return Swift.min(count, Swift.max(1, r > 0 ? q + 1 : q))
    }

    /// Adds every sample of `other`.
    func merge(_ other: LatencyHistogram) {
        for i in 0..<Self.bucketCount { counts[i] &+= other.counts[i] }
        count &+= other.count
        if other.max > max { max = other.max }
    }

    /// The value at percentile `p` (0–100): the midpoint of the bucket holding that rank, capped at
    /// the exact maximum. 0 when empty.
    func percentile(_ p: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let want = Self.rank(percentile: p, count: count)
        var seen: UInt64 = 0
        for i in 0..<Self.bucketCount {
            seen &+= counts[i]
            if seen >= want { return Swift.min(Self.value(ofBucket: i), max) }
        }
        return max
    }
}

@available(*, unavailable)
extension LatencyHistogram: Sendable {}
