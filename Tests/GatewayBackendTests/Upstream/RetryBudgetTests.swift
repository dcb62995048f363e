import GatewayBackend
import Testing

@Suite("RetryBudget")
struct RetryBudgetTests {
    static let s: UInt64 = 1_000_000_000

    /// Retries the budget allows at `now`, taking them all.
    func drain(_ b: inout RetryBudget, now: UInt64) -> Int {
        var n = 0
        while b.tryRetry(now: now) { n += 1 }
        return n
    }

    @Test func floorLetsAQuietLoopRetry() {
        var b = RetryBudget(percent: 20)
        #expect(drain(&b, now: 0) == RetryBudget.minRetriesPerSecond * 10)
    }

    @Test func shareOfCallsBeyondTheFloor() {
        var b = RetryBudget(percent: 20)
        for _ in 0..<1000 { b.recordCall(now: 0) }
        #expect(drain(&b, now: 0) == 200)
    }

    @Test func windowSlides() {
        var b = RetryBudget(percent: 0)
        _ = drain(&b, now: 0)
        #expect(drain(&b, now: 5 * Self.s) == 0)
        // Eleven seconds on, the retries of t=0 are out of the 10 s window.
        #expect(drain(&b, now: 11 * Self.s) > 0)
    }

    @Test func percentIsClamped() {
        #expect(RetryBudget(percent: 500).percent == 100)
        #expect(RetryBudget(percent: -1).percent == 0)
    }
}
