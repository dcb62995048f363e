/// A token bucket for `limits.messagesPerSecond` / `messageBurst`, per connection. Tokens are scaled
/// by 1e9 so that refilling by elapsed nanoseconds stays in integers.
struct MessageRateLimiter {
    private var tokens: UInt64 = .max
    private var refilledAt: UInt64 = 0

    /// Takes one message from the bucket; false when the client is over its rate. `perSecond` 0
    /// means no limit.
    mutating func allow(now: UInt64, perSecond: Int, burst: Int) -> Bool {
        guard perSecond > 0 else { return true }
        let scale: UInt64 = 1_000_000_000
        let cap = UInt64(burst) * scale
        if tokens == .max {
            tokens = cap
        } else {
            let elapsed = now &- refilledAt
            tokens = min(cap, tokens &+ elapsed &* UInt64(perSecond))
        }
        refilledAt = now
        guard tokens >= scale else { return false }
        tokens -= scale
        return true
    }
}
