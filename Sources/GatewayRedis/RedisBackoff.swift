/// Delays between reconnect attempts: exponential, capped, with jitter.
///
/// Each delay is half the current step plus a random part of the other half ("equal jitter"), so
/// nodes that lost Redis at the same moment do not all come back in the same millisecond, and no
/// delay is ever zero. The step doubles after each attempt up to the cap and goes back to the start
/// once a connection is up.
public struct RedisBackoff: Sendable {
    /// The first step.
    public let initialNanos: UInt64
    /// The largest step.
    public let maxNanos: UInt64
    private var step: UInt64

    /// A backoff from `initialNanos` doubling to `maxNanos`.
    public init(initialNanos: UInt64, maxNanos: UInt64) {
        self.initialNanos = max(1, initialNanos)
        self.maxNanos = max(self.initialNanos, maxNanos)
        step = self.initialNanos
    }

    /// The delay before the next attempt; doubles the step for the one after.
    public mutating func next() -> UInt64 {
        let current = step
        step = min(maxNanos, step &* 2)
        return current / 2 + UInt64.random(in: 0...(current - current / 2))
    }

    /// Starts over from `initialNanos` (after a successful connection).
    public mutating func reset() {
        step = initialNanos
    }
}
