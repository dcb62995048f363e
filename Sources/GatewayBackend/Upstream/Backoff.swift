/// Delays between the tries of one call: exponential with full jitter (a random time between zero
/// and `base × 2^(n-1)`, capped). Full jitter rather than a fixed step: calls that failed together
/// (an endpoint died under all of them) come back spread over the whole interval instead of in one
/// burst, which is what lets the remaining endpoints absorb them. Sans-IO: the caller supplies the
/// random bits.
public struct Backoff: Sendable, Equatable {
    public let baseNanos: UInt64
    public let maxNanos: UInt64

    /// A backoff from `baseMs` doubling up to `maxMs`.
    public init(baseMs: Int, maxMs: Int) {
        baseNanos = UInt64(max(0, baseMs)) * 1_000_000
        maxNanos = max(baseNanos, UInt64(max(0, maxMs)) * 1_000_000)
    }

    /// The ceiling of the delay before retry number `retry` (1 = the first retry).
    public func ceiling(retry: Int) -> UInt64 {
        let shift = UInt64(min(max(retry - 1, 0), 40))
        let (step, overflow) = baseNanos.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? maxNanos : min(step, maxNanos)
    }

    /// The delay before retry number `retry`, drawn from `random` (uniform bits).
    public func delay(retry: Int, random: UInt64) -> UInt64 {
        let cap = ceiling(retry: retry)
        return cap == 0 ? 0 : random % (cap + 1)
    }

    /// When retry number `retry` may start if the call must end by `deadline`: nil when the delay
    /// plus `minimumAttemptNanos` no longer fits (the retry would only time out).
    public func retryTime(retry: Int, random: UInt64, now: UInt64, deadline: UInt64, minimumAttemptNanos: UInt64) -> UInt64? {
        let at = now &+ delay(retry: retry, random: random)
        guard at < deadline, deadline - at >= minimumAttemptNanos else { return nil }
        return at
    }
}
