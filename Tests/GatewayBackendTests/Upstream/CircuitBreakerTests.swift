import GatewayBackend
import Testing

@Suite("CircuitBreaker")
struct CircuitBreakerTests {
    static let ms: UInt64 = 1_000_000

    func settings(ratio: Double = 0.5, min: Int = 4, windowMs: Int = 1000, openMs: Int = 100, probes: Int = 1) -> CircuitBreakerSettings {
        var s = CircuitBreakerSettings()
        s.failureRatio = ratio
        s.minRequests = min
        s.windowMs = windowMs
        s.openMs = openMs
        s.halfOpenProbes = probes
        return s
    }

    /// Admits a normal call at `now` and records its outcome.
    func call(_ b: inout CircuitBreaker, failed: Bool, at now: UInt64) -> CircuitBreaker.Transition? {
        let (a, _) = b.admit(now: now)
        #expect(a == .call)
        return b.record(failed: failed, probe: false, epoch: b.epoch, now: now)
    }

    @Test func staysClosedBelowMinRequests() {
        var b = CircuitBreaker(settings: settings(min: 4))
        for i in 0..<3 {
            let t11 = call(&b, failed: true, at: UInt64(i) * Self.ms)
            #expect(t11 == nil)
        }
        #expect(b.state == .closed)
        let t = call(&b, failed: true, at: 3 * Self.ms)
        #expect(t?.from == .closed && t?.to == .open)
        #expect(b.state == .open)
    }

    @Test func opensOnlyAtTheRatio() {
        var b = CircuitBreaker(settings: settings(ratio: 0.5, min: 4))
        // 1 failure in 4 calls, then 2 in 5: below half.
        _ = call(&b, failed: true, at: 0)
        for _ in 0..<3 { _ = call(&b, failed: false, at: 1) }
        #expect(b.state == .closed)
        _ = call(&b, failed: true, at: 2)
        #expect(b.state == .closed)
        _ = call(&b, failed: true, at: 3)  // 3 of 6
        #expect(b.state == .open)
    }

    @Test func failuresOutsideTheWindowAreForgotten() {
        var b = CircuitBreaker(settings: settings(min: 4, windowMs: 1000))
        for _ in 0..<3 { _ = call(&b, failed: true, at: 0) }
        // 1.5 s later the three are out of the window: one more failure is 1 call, below minRequests.
        let t12 = call(&b, failed: true, at: 1500 * Self.ms)
        #expect(t12 == nil)
        #expect(b.state == .closed)
    }

    @Test func openRefusesThenHalfOpenProbesThenCloses() {
        var b = CircuitBreaker(settings: settings(min: 1, openMs: 100))
        _ = call(&b, failed: true, at: 0)
        #expect(b.state == .open)
        #expect(!b.admits(now: 50 * Self.ms))
        let a13 = b.admit(now: 50 * Self.ms).0
        #expect(a13 == .refused)
        #expect(b.retryAfterNanos(now: 50 * Self.ms) == 50 * Self.ms)
        // Time is up: the next call is a probe, and only one at a time.
        #expect(b.admits(now: 100 * Self.ms))
        let (a, t) = b.admit(now: 100 * Self.ms)
        #expect(a == .probe && t?.to == .halfOpen && b.state == .halfOpen)
        #expect(!b.admits(now: 101 * Self.ms))
        let a14 = b.admit(now: 101 * Self.ms).0
        #expect(a14 == .refused)
        let closed = b.record(failed: false, probe: true, epoch: b.epoch, now: 110 * Self.ms)
        #expect(closed?.from == .halfOpen && closed?.to == .closed && closed?.reason == "probe succeeded")
        let a15 = b.admit(now: 111 * Self.ms).0
        #expect(a15 == .call)
    }

    @Test func failedProbeOpensAgain() {
        var b = CircuitBreaker(settings: settings(min: 1, openMs: 100))
        _ = call(&b, failed: true, at: 0)
        _ = b.admit(now: 200 * Self.ms)
        let t = b.record(failed: true, probe: true, epoch: b.epoch, now: 210 * Self.ms)
        #expect(t?.to == .open && b.state == .open)
        #expect(!b.admits(now: 300 * Self.ms))
        #expect(b.admits(now: 310 * Self.ms))
    }

    @Test func lateOutcomesOfAnEarlierStateAreIgnored() {
        var b = CircuitBreaker(settings: settings(min: 1, openMs: 100))
        let oldEpoch = b.epoch
        _ = call(&b, failed: true, at: 0)
        _ = b.admit(now: 200 * Self.ms)  // half-open, probe out
        // A call admitted while closed ends now: no verdict, the probe slot stays taken.
        let late = b.record(failed: false, probe: false, epoch: oldEpoch, now: 201 * Self.ms)
        #expect(late == nil)
        #expect(b.state == .halfOpen && !b.admits(now: 201 * Self.ms))
    }

    @Test func cancelledProbeFreesItsSlot() {
        var b = CircuitBreaker(settings: settings(min: 1, openMs: 100, probes: 1))
        _ = call(&b, failed: true, at: 0)
        _ = b.admit(now: 200 * Self.ms)
        b.release(probe: true, epoch: b.epoch)
        #expect(b.admits(now: 201 * Self.ms))
    }

    @Test func severalProbesAtATime() {
        var b = CircuitBreaker(settings: settings(min: 1, openMs: 10, probes: 2))
        _ = call(&b, failed: true, at: 0)
        let a16 = b.admit(now: 20 * Self.ms).0
        #expect(a16 == .probe)
        let a17 = b.admit(now: 20 * Self.ms).0
        #expect(a17 == .probe)
        let a18 = b.admit(now: 20 * Self.ms).0
        #expect(a18 == .refused)
    }
}
