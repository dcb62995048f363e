internal import Synchronization

/// The publishes of a fanout run, in order: each one's TS (unique, increasing) and whether it fell
/// in the measured window. One writer (the publisher's loop) appends; subscribers on every loop
/// look a received marker up by binary search.
///
/// Entries are written before `count` is released, and readers acquire `count` before reading, so
/// a reader never sees a half-written entry. Capacity is fixed up front (rate × run time × 1.2 + 64,
/// like wsload), so nothing moves under the readers.
final class PublishLog: @unchecked Sendable {
    // @unchecked: `timestamps`/`measured` below `count` are immutable once published through the
    // release store of `count`; only the single publisher thread writes above it.
    let capacity: Int
    private let timestamps: UnsafeMutablePointer<UInt64>
    private let measuredFlags: UnsafeMutablePointer<Bool>
    private let countValue = Atomic<Int>(0)

    /// Creates a log for `capacity` publishes.
    init(capacity: Int) {
        self.capacity = capacity
        timestamps = .allocate(capacity: capacity)
        timestamps.initialize(repeating: 0, count: capacity)
        measuredFlags = .allocate(capacity: capacity)
        measuredFlags.initialize(repeating: false, count: capacity)
    }

    deinit {
        timestamps.deallocate()
        measuredFlags.deallocate()
    }

    /// Publishes recorded so far.
    var count: Int { countValue.load(ordering: .acquiring) }

    /// Appends a publish (publisher thread only). False when the log is full.
    func record(timestamp: UInt64, measured: Bool) -> Bool {
        let n = countValue.load(ordering: .relaxed)
        guard n < capacity else { return false }
        timestamps[n] = timestamp
        measuredFlags[n] = measured
        countValue.store(n + 1, ordering: .releasing)
        return true
    }

    /// The index of the publish with this TS, or nil.
    @inline(__always)
    func index(of timestamp: UInt64) -> Int? {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if timestamps[mid] < timestamp { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && timestamps[lo] == timestamp ? lo : nil
    }

    /// Whether publish `i` was sent during the measured window.
    @inline(__always)
    func isMeasured(_ i: Int) -> Bool { measuredFlags[i] }
}
