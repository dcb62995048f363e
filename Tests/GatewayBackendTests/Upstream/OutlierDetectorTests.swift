import GatewayBackend
import Testing

@Suite("OutlierDetector")
struct OutlierDetectorTests {
    static let ms: UInt64 = 1_000_000

    func detector(n: Int, failures: Int = 3, baseMs: Int = 100, percent: Int = 50) -> OutlierDetector {
        var s = OutlierDetectionSettings()
        s.consecutiveFailures = failures
        s.baseEjectionMs = baseMs
        s.maxEjectionPercent = percent
        return OutlierDetector(settings: s, endpoints: n)
    }

    @Test func ejectsAfterConsecutiveFailures() {
        var d = detector(n: 3)
        let r1 = d.record(0, failed: true, now: 0)
        #expect(r1 == nil)
        let r2 = d.record(0, failed: true, now: 0)
        #expect(r2 == nil)
        let r3 = d.record(0, failed: true, now: 0)
        #expect(r3 == .ejected(endpoint: 0, forMs: 100, count: 1))
        #expect(d.isEjected(0) && d.ejectedCount == 1)
    }

    @Test func aSuccessResetsTheCount() {
        var d = detector(n: 3)
        _ = d.record(0, failed: true, now: 0)
        _ = d.record(0, failed: true, now: 0)
        _ = d.record(0, failed: false, now: 0)
        let r4 = d.record(0, failed: true, now: 0)
        #expect(r4 == nil)
        #expect(!d.isEjected(0))
    }

    @Test func returnsWhenTheTimeIsUpAndEjectionsGrow() {
        var d = detector(n: 3, failures: 1, baseMs: 100)
        _ = d.record(1, failed: true, now: 0)
        var events: [OutlierDetector.Event] = []
        d.refresh(now: 99 * Self.ms) { events.append($0) }
        #expect(events.isEmpty && d.isEjected(1))
        d.refresh(now: 100 * Self.ms) { events.append($0) }
        #expect(events == [.returned(endpoint: 1)] && !d.isEjected(1))
        // Ejected again soon after: twice as long.
        let r5 = d.record(1, failed: true, now: 150 * Self.ms)
        #expect(r5 == .ejected(endpoint: 1, forMs: 200, count: 2))
        d.refresh(now: 349 * Self.ms) { _ in }
        #expect(d.isEjected(1))
        d.refresh(now: 350 * Self.ms) { _ in }
        #expect(!d.isEjected(1))
        // In rotation for 10 × base: the multiplier starts over.
        let r6 = d.record(1, failed: true, now: 1350 * Self.ms)
        #expect(r6 == .ejected(endpoint: 1, forMs: 100, count: 1))
    }

    @Test func neverBeyondThePercentageNorTheWholeGroup() {
        var d = detector(n: 4, failures: 1, percent: 50)
        #expect(d.maxEjected == 2)
        let r7 = d.record(0, failed: true, now: 0)
        #expect(r7 != nil)
        let r8 = d.record(1, failed: true, now: 0)
        #expect(r8 != nil)
        let r9 = d.record(2, failed: true, now: 0)
        #expect(r9 == nil)
        #expect(!d.isEjected(2))
        var all = detector(n: 2, failures: 1, percent: 100)
        #expect(all.maxEjected == 1)
        _ = all.record(0, failed: true, now: 0)
        let r10 = all.record(1, failed: true, now: 0)
        #expect(r10 == nil)
    }

    @Test func atLeastOneOfTwoButNoneOfOne() {
        #expect(detector(n: 3, percent: 10).maxEjected == 1)
        #expect(detector(n: 1, percent: 100).maxEjected == 0)
        #expect(detector(n: 5, percent: 0).maxEjected == 0)
    }
}
