/// Two counters over a rolling time window, kept in `bucketCount` buckets: what happened in the
/// last `windowNanos` (to within one bucket). Used for a breaker's calls and failures and for the
/// retry budget's calls and retries. Sans-IO: the caller passes the time.
///
/// Ten buckets: the window then slides in steps of a tenth of its length, fine enough that a
/// breaker neither forgets a burst of failures early nor remembers it much too long, and summing
/// ten pairs per read is cheap.
struct RollingWindow {
    private struct Bucket {
        /// Which bucket period (time / bucketNanos) the counts belong to.
        var period: UInt64 = .max
        var first = 0
        var second = 0
    }

    static let bucketCount = 10
    let bucketNanos: UInt64
    private var buckets: [Bucket]

    /// A window of `windowNanos` (at least `bucketCount` ns).
    init(windowNanos: UInt64) {
        bucketNanos = max(1, windowNanos / UInt64(Self.bucketCount))
        buckets = Array(repeating: Bucket(), count: Self.bucketCount)
    }

    /// Adds to the counters of the bucket holding `now`.
    mutating func add(first: Int = 0, second: Int = 0, now: UInt64) {
        let period = now / bucketNanos
        let i = Int(period % UInt64(Self.bucketCount))
        if buckets[i].period != period { buckets[i] = Bucket(period: period) }
        buckets[i].first += first
        buckets[i].second += second
    }

    /// The sums over the buckets of the last window ending at `now`.
    func totals(now: UInt64) -> (first: Int, second: Int) {
        let period = now / bucketNanos
        var a = 0, b = 0
        for bucket in buckets where bucket.period != .max && bucket.period <= period && period - bucket.period < UInt64(Self.bucketCount) {
            a += bucket.first
            b += bucket.second
        }
        return (a, b)
    }

    /// Forgets everything (a breaker that just changed state starts a fresh window).
    mutating func clear() {
        for i in buckets.indices { buckets[i] = Bucket() }
    }
}
