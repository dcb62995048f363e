@testable import GatewayBackend
import Testing

@Suite("RollingWindow")
struct RollingWindowTests {
    @Test func sumsTheLastWindow() {
        var w = RollingWindow(windowNanos: 1000)  // ten buckets of 100 ns
        w.add(first: 1, second: 0, now: 0)
        w.add(first: 1, second: 1, now: 450)
        w.add(first: 2, second: 1, now: 999)
        #expect(w.totals(now: 999) == (4, 2))
        // At 1000 the bucket of t=0 has left the window.
        #expect(w.totals(now: 1000) == (3, 2))
        #expect(w.totals(now: 1450) == (2, 1))
        #expect(w.totals(now: 5000) == (0, 0))
    }

    @Test func aReusedBucketStartsFromZero() {
        var w = RollingWindow(windowNanos: 1000)
        w.add(first: 5, now: 10)
        w.add(first: 1, now: 1010)  // same slot, next lap
        #expect(w.totals(now: 1010) == (1, 0))
    }

    @Test func clearForgets() {
        var w = RollingWindow(windowNanos: 1000)
        w.add(first: 3, second: 3, now: 10)
        w.clear()
        #expect(w.totals(now: 10) == (0, 0))
    }
}
