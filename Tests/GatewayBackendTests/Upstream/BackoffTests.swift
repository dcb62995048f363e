import GatewayBackend
import Testing

@Suite("Backoff")
struct BackoffTests {
    static let ms: UInt64 = 1_000_000

    @Test func ceilingDoublesToTheCap() {
        let b = Backoff(baseMs: 25, maxMs: 250)
        #expect([1, 2, 3, 4, 5, 60].map { b.ceiling(retry: $0) } == [25, 50, 100, 200, 250, 250].map { $0 * Self.ms })
    }

    @Test func fullJitterStaysWithinTheCeiling() {
        let b = Backoff(baseMs: 10, maxMs: 1000)
        for r in 1...5 {
            for bits: UInt64 in [0, 1, 12345, .max, .max - 7] {
                #expect(b.delay(retry: r, random: bits) <= b.ceiling(retry: r))
            }
        }
        #expect(b.delay(retry: 1, random: 0) == 0)
        #expect(b.delay(retry: 1, random: 10 * Self.ms) == 10 * Self.ms)
    }

    @Test func noRetryThatCannotFinishBeforeTheDeadline() {
        let b = Backoff(baseMs: 100, maxMs: 100)
        // Delay 100 ms (random = ceiling) at t=0, deadline 150 ms: 50 ms left, 20 needed.
        #expect(b.retryTime(retry: 1, random: 100 * Self.ms, now: 0, deadline: 150 * Self.ms, minimumAttemptNanos: 20 * Self.ms) == 100 * Self.ms)
        #expect(b.retryTime(retry: 1, random: 100 * Self.ms, now: 0, deadline: 150 * Self.ms, minimumAttemptNanos: 60 * Self.ms) == nil)
        #expect(b.retryTime(retry: 1, random: 100 * Self.ms, now: 0, deadline: 90 * Self.ms, minimumAttemptNanos: 1) == nil)
    }

    @Test func zeroBaseMeansNoWait() {
        let b = Backoff(baseMs: 0, maxMs: 0)
        #expect(b.delay(retry: 3, random: .max) == 0)
    }
}
