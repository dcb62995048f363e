import GatewayRedis
import Testing

@Suite("RedisBackoff")
struct RedisBackoffTests {
    @Test func doublesToTheCapWithEqualJitter() {
        var b = RedisBackoff(initialNanos: 50, maxNanos: 400)
        let steps: [UInt64] = [50, 100, 200, 400, 400, 400]
        for step in steps {
            let d = b.next()
            #expect(d >= step / 2 && d <= step, "delay \(d) for step \(step)")
        }
    }

    @Test func resetStartsOver() {
        var b = RedisBackoff(initialNanos: 10, maxNanos: 1_000)
        for _ in 0..<10 { _ = b.next() }
        b.reset()
        #expect(b.next() <= 10)
    }

    @Test func jitterSpreadsDelays() {
        var seen = Set<UInt64>()
        for _ in 0..<50 {
            var b = RedisBackoff(initialNanos: 1_000_000, maxNanos: 1_000_000)
            seen.insert(b.next())
        }
        #expect(seen.count > 1)
    }

    @Test func nonsenseLimitsAreClamped() {
        var b = RedisBackoff(initialNanos: 0, maxNanos: 0)
        #expect(b.initialNanos == 1 && b.maxNanos == 1)
        #expect(b.next() <= 1)
    }
}
